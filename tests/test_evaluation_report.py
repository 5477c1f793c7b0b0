"""`dr-agent eval --json` and `dr-agent eval-report` as an engineer runs them, on a small slice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRACES = REPO / "data" / "traces"
WARNING_SCENARIO = REPO / "data" / "scenarios" / "01_deficit_warning.yaml"
ENV = dict(os.environ, TOKENIZERS_PARALLELISM="false")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, env=ENV, cwd=REPO, timeout=3600)


def test_eval_json_reports_split_and_scenario_metrics():
    done = _run("eval", "--data", str(TRACES), "--limit", "2", "--scenarios", str(WARNING_SCENARIO), "--samples", "2", "--seed", "3", "--json")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["metrics"]["samples"] == 2
    scenario = report["metrics"]["scenario"]
    assert scenario["scenarios"] == 1
    assert scenario["task_success"] in (0.0, 1.0)
    assert set(scenario["sampled"]["pass_hat_k"]) == {"1", "2"}
    assert scenario["sampled"]["seed"] == 3
    assert 0.0 <= scenario["grounded_replies"] <= 1.0
    [result] = report["scenarios"]
    assert result["first_turn"]["request"] == "明天会有负荷缺口吗？需要启动需求响应吗？"
    assert len(result["sampled"]) == 2
    assert result["greedy"]["state_checks"] == 2


def test_eval_rejects_samples_at_temperature_zero():
    done = _run("eval", "--limit", "1", "--samples", "2", "--temperature", "0")

    assert done.returncode == 2
    assert "temperature" in done.stderr


def test_eval_report_writes_markdown_table_for_two_models(tmp_path):
    out = tmp_path / "evaluation.md"

    done = _run(
        "eval-report",
        "--model", "base=none",
        "--model", "lora=default",
        "--data", str(TRACES),
        "--limit", "3",
        "--scenarios", str(WARNING_SCENARIO),
        "--samples", "1",
        "--out", str(out),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "| metric | base | lora |" in page
    assert "| split samples scored | 3 | 3 |" in page
    assert "| scenario task success (greedy) |" in page
    assert "pass^1 over 1 sampled runs" in page
    assert "dr-agent eval-report --model base=none --model lora=default" in page
    assert "--limit 3" in page
    assert "- Date: " in page
    assert "- Machine: " in page
    assert "sha256" in page
    assert "### 1. 明天会有负荷缺口吗？需要启动需求响应吗？" in page
    assert "**base**" in page
    assert "**lora**: `get_deficit_warning(date=\"tomorrow\")`" in page

    record = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert list(record["models"]) == ["base", "lora"]
    assert record["data"]["split_samples_scored"] == 3
    assert record["models"]["lora"]["metrics"]["scenario"]["task_success"] == 1.0


def test_eval_report_rejects_model_without_name(tmp_path):
    done = _run("eval-report", "--model", "data/adapter", "--limit", "1", "--out", str(tmp_path / "e.md"))

    assert done.returncode == 2
    assert "NAME=VALUE" in done.stderr
    assert not (tmp_path / "e.md").exists()
