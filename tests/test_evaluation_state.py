"""End-state checks of scenario scripts, read from the scenario's own copy of the demo city."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.chat_model import make_local_chat_model
from agent.replay import STATE_CHECKS, ScenarioError, load_scenario, run_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "data" / "scenarios"
DECOMPOSE = {"tool": {"name": "decompose_deficit", "args": {"gap_mw": 40, "method": "mean", "date": "tomorrow"}}}


def _run(scenario: dict, template: Path, policy, workdir: Path):
    scenario.setdefault("name", "test")
    outcomes = run_scenario(scenario, template, lambda facts: make_local_chat_model(policy, facts), workdir)
    return [outcome for outcome in outcomes if outcome.kind == "state"]


def _write(folder: Path, text: str) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_invitation_count_fails_when_send_is_rejected(demo_template, shipped_policy, tmp_path):
    scenario = {
        "steps": [DECOMPOSE, {"say": "给城北区签约用户发需求响应通知", "approve": False}],
        "expect_state": [("sms_count", {"kind": "invitation", "date": "2026-06-24", "district": "城北区", "count": 128})],
    }

    [state] = _run(scenario, demo_template, shipped_policy, tmp_path)

    assert not state.passed
    assert state.problems == ["expected 128 messages in the outbox, found 0"]


def test_invitation_count_passes_after_send(demo_template, shipped_policy, tmp_path):
    scenario = {
        "steps": [DECOMPOSE, {"tool": {"name": "send_dr_notification", "args": {"district": "城南区"}}}],
        "expect_state": [
            ("sms_count", {"kind": "invitation", "date": "2026-06-24", "district": "城南区", "count": 128}),
            ("sms_count", {"kind": "invitation", "date": "2026-06-24", "district": "城北区", "count": 0}),
            ("event", {"date": "2026-06-24", "status": "notified"}),
        ],
    }

    states = _run(scenario, demo_template, shipped_policy, tmp_path)

    assert [state.problems for state in states] == [[], [], []]


def test_allocations_check_reads_stored_decomposition(demo_template, shipped_policy, tmp_path):
    scenario = {
        "steps": [DECOMPOSE],
        "expect_state": [
            ("allocations", {"date": "2026-06-24", "total_mw": 40, "districts": {"城南区": 8, "城北": 12}}),
            ("allocations", {"date": "2026-06-24", "districts": {"城南区": 10}}),
        ],
    }

    right, wrong = _run(scenario, demo_template, shipped_policy, tmp_path)

    assert right.passed, right.problems
    assert wrong.problems == ["城南区 target 8.0 MW, expected 10 MW"]


def test_allocations_check_fails_without_decomposition(demo_template, shipped_policy, tmp_path):
    scenario = {"steps": [], "expect_state": [("allocations", {"date": "2026-06-24", "total_mw": 40})]}

    [state] = _run(scenario, demo_template, shipped_policy, tmp_path)

    assert state.problems == ["no event on 2026-06-24, so no decomposition stored"]


def test_event_check_fails_when_event_exists_unexpectedly(demo_template, shipped_policy, tmp_path):
    scenario = {"steps": [DECOMPOSE], "expect_state": [("event", {"date": "2026-06-24", "exists": False})]}

    [state] = _run(scenario, demo_template, shipped_policy, tmp_path)

    assert state.problems == ["expected no event on 2026-06-24, found one (planned)"]


def test_unknown_state_check_is_rejected(tmp_path):
    path = _write(tmp_path, "steps: []\nexpect_state:\n  - sms_total: {count: 0}\n")

    with pytest.raises(ScenarioError, match="unknown state check"):
        load_scenario(path)


def test_state_check_without_required_parameter_is_rejected(tmp_path):
    path = _write(tmp_path, "steps: []\nexpect_state:\n  - sms_count: {kind: invitation}\n")

    with pytest.raises(ScenarioError, match="missing count"):
        load_scenario(path)


def test_state_check_with_unknown_parameter_is_rejected(tmp_path):
    path = _write(tmp_path, "steps: []\nexpect_state:\n  - event: {date: 2026-06-24, state: done}\n")

    with pytest.raises(ScenarioError, match="does not take state"):
        load_scenario(path)


def test_yaml_date_is_kept_as_written(tmp_path):
    path = _write(tmp_path, "steps: []\nexpect_state:\n  - event: {date: 2026-06-24, status: done}\n")

    assert load_scenario(path)["expect_state"] == [("event", {"date": "2026-06-24", "status": "done"})]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda path: path.stem)
def test_every_scenario_declares_state_checks(path):
    checks = load_scenario(path)["expect_state"]

    assert checks
    assert {name for name, _ in checks} <= set(STATE_CHECKS)
