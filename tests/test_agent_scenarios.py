"""The real model with the shipped adapter replays the specification's dialogues."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.chat_model import make_local_chat_model
from agent.replay import replay

SCENARIOS = Path(__file__).resolve().parent.parent / "data" / "scenarios"
SPECIFICATION_DIALOGUES = sorted(SCENARIOS.glob("0[1-7]_*.yaml"))


def test_seven_dialogue_scripts_exist():
    assert len(SPECIFICATION_DIALOGUES) == 7


@pytest.mark.parametrize("path", SPECIFICATION_DIALOGUES, ids=lambda path: path.stem)
def test_specification_dialogue_passes(path, shipped_policy):
    lines: list[str] = []

    passed, failed = replay([path], lambda facts: make_local_chat_model(shipped_policy, facts), echo=lines.append)

    assert (passed, failed) == (1, 0), "\n".join(lines)


def test_unknown_method_gets_named(shipped_policy, tmp_path):
    """A method the tool lacks gets a reply naming it, and nothing is decomposed."""
    scenario = tmp_path / "unknown_method.yaml"
    scenario.write_text(
        """name: unknown method
steps:
  - say: 把明天的30MW缺口用最大值法分解到各区
    expect:
      tool: null
      reply_contains: ["暂不支持最大值法", "平均值法"]
expect_state:
  - event: {date: 2026-06-24, exists: false}
""",
        encoding="utf-8",
    )
    lines: list[str] = []

    passed, failed = replay([scenario], lambda facts: make_local_chat_model(shipped_policy, facts), echo=lines.append)

    assert (passed, failed) == (1, 0), "\n".join(lines)
