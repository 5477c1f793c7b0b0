"""The dr-agent command as a dispatcher or a script would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, TOKENIZERS_PARALLELISM="false")


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )


def test_ask_json_reads_stdin_and_answers_each_line():
    done = _run("ask", "--json", stdin="明天会有负荷缺口吗？需要启动需求响应吗？\n查看用户603954的执行情况\n")

    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == 2
    assert records[0]["tool_calls"] == [{"name": "get_deficit_warning", "arguments": {"date": "tomorrow"}}]
    assert "30MW" in records[0]["reply"]
    assert records[0]["sim_today"] == "2026-06-23"
    assert records[1]["tool_calls"][0]["arguments"]["user_id"] == "603954"
    assert "1240元" in records[1]["reply"]


def test_ask_without_adapter_misses_the_warning():
    done = _run("ask", "--json", "--adapter", "none", "明天会有负荷缺口吗？需要启动需求响应吗？")

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["tool_calls"] != [{"name": "get_deficit_warning", "arguments": {"date": "tomorrow"}}]
    assert "30MW" not in record["reply"]


def test_sim_init_refuses_to_overwrite(tmp_path):
    db = tmp_path / "city.db"

    first = _run("sim", "init", "--seed", "11", "--db", str(db))
    second = _run("sim", "init", "--seed", "11", "--db", str(db))

    assert first.returncode == 0, first.stderr
    assert db.is_file()
    assert second.returncode != 0
    assert "Traceback" not in second.stderr


def test_replay_reports_counts_and_fails_on_a_wrong_expectation(tmp_path):
    script = tmp_path / "wrong.yaml"
    script.write_text("name: 错误期望\nsteps:\n  - say: 你好\n    expect:\n      tool: count_replies\n", encoding="utf-8")

    done = _run("replay", str(script))

    assert done.returncode == 1
    assert done.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


@pytest.mark.parametrize("bad", ["--seed", "abc"])
def test_bad_option_prints_usage_not_traceback(bad):
    done = _run("sim", "init", bad)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
