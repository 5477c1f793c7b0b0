"""pass^k as tau-bench defines it, and the run summaries the scenario metrics are built from."""

from __future__ import annotations

import pytest

from agent.replay import StepOutcome
from finetune.evaluate import EvalConfig, _run_summary, mean_pass_hat_k, pass_hat_k


def test_pass_hat_k_single_task_worked_example():
    # A task run n = 4 times with c = 2 successes.
    # pass^1 = C(2,1) / C(4,1) = 2 / 4 = 0.5
    # pass^2 = C(2,2) / C(4,2) = 1 / 6
    # pass^3 = C(2,3) / C(4,3) = 0 / 4 = 0: three runs cannot all succeed with two successes.
    assert pass_hat_k(4, 2, 1) == pytest.approx(0.5)
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)
    assert pass_hat_k(4, 2, 3) == 0.0


def test_pass_hat_k_averages_over_tasks():
    # Task A: 2 of 4 runs succeed (values above). Task B: 4 of 4 succeed, so every pass^k is 1.
    # pass^1 = (0.5 + 1) / 2 = 0.75
    # pass^2 = (1/6 + 1) / 2 = 7/12
    # pass^4 = (C(2,4)/C(4,4) + 1) / 2 = (0 + 1) / 2 = 0.5
    tasks = [[True, False, True, False], [True, True, True, True]]

    assert mean_pass_hat_k(tasks, 1) == pytest.approx(0.75)
    assert mean_pass_hat_k(tasks, 2) == pytest.approx(7 / 12)
    assert mean_pass_hat_k(tasks, 4) == pytest.approx(0.5)


def test_pass_hat_k_never_rises_with_k():
    # C(c,k)/C(n,k) = prod_{i<k} (c-i)/(n-i), and each factor is at most 1.
    values = [pass_hat_k(8, 5, k) for k in range(1, 9)]

    assert values == sorted(values, reverse=True)
    assert values[0] == pytest.approx(5 / 8)


def test_pass_hat_k_rejects_k_outside_runs():
    with pytest.raises(ValueError):
        pass_hat_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_hat_k(3, 1, 0)


def test_pass_hat_k_rejects_more_successes_than_runs():
    with pytest.raises(ValueError):
        pass_hat_k(3, 4, 1)


def test_eval_config_rejects_sampling_at_temperature_zero():
    with pytest.raises(ValueError, match="temperature"):
        EvalConfig(samples=3, temperature=0.0)


def test_run_summary_counts_ungrounded_reply_and_failed_state():
    outcomes = [
        StepOutcome("s", "q1", True, reply="缺口30MW", ungrounded=[]),
        StepOutcome("s", "q2", True, reply="缺口99MW", ungrounded=["99"]),
        StepOutcome("s", "state sms_count(count=128)", False, ["expected 128 messages in the outbox, found 0"], kind="state"),
    ]

    summary = _run_summary(outcomes)

    assert summary["passed"] is False
    assert summary["turn_checks_passed"] == 2
    assert summary["state_checks"] == 1
    assert summary["state_checks_passed"] == 0
    assert summary["grounded_replies"] == 1
    assert summary["ungrounded"] == [{"reply": "缺口99MW", "numbers": ["99"]}]
