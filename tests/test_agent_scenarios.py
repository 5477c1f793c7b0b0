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
