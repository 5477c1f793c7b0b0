"""Scenario scripts: replay dispatcher turns against a fresh demo city and check the outcome.

A script is YAML with a ``name`` and a list of ``steps``. Each step is one of:

- ``say: TEXT`` with an optional ``expect`` block: ``tool`` (a tool name, or null when no tool
  may run), ``args`` (a subset of the call's arguments), ``reply_contains`` (strings the reply
  must contain) and ``reply_excludes``. A send waits for approval: ``approve: true`` (or false)
  on the step answers it; without it the send stays pending and the reply is the question.
- ``clock: "YYYY-MM-DD HH:MM"``: move the simulator clock forward; replies arrive and events
  execute as it moves.
- ``sms_reply: {user_id: ..., text: ...}``: a customer's inbound SMS arriving now.
- ``tool: {name: ..., args: {...}}``: a direct tool call without the model, to prepare state.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class StepOutcome:
    scenario: str
    label: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


class ScenarioError(ValueError):
    """Raised when a scenario file is malformed."""


def load_scenario(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        scenario = yaml.safe_load(handle)
    if not isinstance(scenario, dict) or not isinstance(scenario.get("steps"), list):
        raise ScenarioError(f"{path}: a scenario needs a 'steps' list")
    scenario.setdefault("name", Path(path).stem)
    return scenario


def _same_value(expected, actual) -> bool:
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return abs(float(expected) - float(actual)) < 1e-9
    return expected == actual


def check_turn(expect: dict, turn) -> list[str]:
    """Return what is wrong with ``turn`` against ``expect`` (empty when it passes)."""
    problems = []
    if "tool" in expect:
        wanted = expect["tool"]
        called = [call["name"] for call in turn.tool_calls]
        if wanted is None and called:
            problems.append(f"expected no tool, got {called}")
        elif wanted is not None and wanted not in called:
            problems.append(f"expected tool {wanted}, got {called or 'none'}")
        if wanted and wanted in called and expect.get("args"):
            arguments = next(call["arguments"] for call in turn.tool_calls if call["name"] == wanted)
            for key, value in expect["args"].items():
                if not _same_value(value, arguments.get(key)):
                    problems.append(f"argument {key}: expected {value!r}, got {arguments.get(key)!r}")
    if "sms_sent" in expect and turn.sms_sent != expect["sms_sent"]:
        problems.append(f"expected {expect['sms_sent']} messages sent, got {turn.sms_sent}")
    for text in expect.get("reply_contains", []):
        if str(text) not in turn.reply:
            problems.append(f"reply lacks {text!r}")
    for text in expect.get("reply_excludes", []):
        if str(text) in turn.reply:
            problems.append(f"reply contains {text!r}")
    return problems


def run_scenario(scenario: dict, template_db: Path, chat_model_factory, workdir: Path) -> list[StepOutcome]:
    """Run one scenario on a copy of ``template_db``; return an outcome per checked step."""
    from agent.session import AgentSession, world_facts_of
    from sim_grid import advance_clock, inject_reply, open_city
    from tools import ToolContext, call_tool

    name = scenario["name"]
    db_path = workdir / "city.db"
    shutil.copyfile(template_db, db_path)
    ctx = ToolContext(open_city(db_path), output_dir=workdir / "charts")
    session = AgentSession(ctx, chat_model_factory(world_facts_of(ctx)), thread_id=name)
    outcomes: list[StepOutcome] = []
    try:
        for step in scenario["steps"]:
            if "clock" in step:
                advance_clock(ctx.engine, to=dt.datetime.fromisoformat(str(step["clock"])))
            elif "sms_reply" in step:
                inject_reply(ctx.engine, str(step["sms_reply"]["user_id"]), str(step["sms_reply"]["text"]))
            elif "tool" in step:
                result = call_tool(step["tool"]["name"], step["tool"].get("args", {}), ctx)
                if not result.get("ok"):
                    outcomes.append(StepOutcome(name, f"setup {step['tool']['name']}", False, [result.get("error", "failed")]))
            elif "say" in step:
                turn = session.send(str(step["say"]))
                calls = list(turn.tool_calls)
                if turn.pending_approval and "approve" in step:
                    turn = session.resume(approved=bool(step["approve"]))
                    turn.tool_calls = calls + turn.tool_calls
                problems = check_turn(step.get("expect", {}), turn)
                calls = ", ".join(f"{c['name']}({c['arguments']})" for c in turn.tool_calls) or "no tool"
                label = f"{step['say']} -> {calls}\n      {turn.reply}"
                outcomes.append(StepOutcome(name, label, not problems, problems, turn.seconds))
            else:
                raise ScenarioError(f"{name}: unknown step {step!r}")
    finally:
        session.close()
        ctx.engine.dispose()
    return outcomes


def replay(paths: list[Path], chat_model_factory, echo=print) -> tuple[int, int]:
    """Replay every scenario file; return (scenarios passed, scenarios failed)."""
    from sim_grid import create_city

    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="dr-replay-") as folder:
        template = Path(folder) / "demo.db"
        create_city(template).dispose()
        for index, path in enumerate(paths):
            scenario = load_scenario(path)
            workdir = Path(folder) / f"s{index}"
            workdir.mkdir()
            outcomes = run_scenario(scenario, template, chat_model_factory, workdir)
            ok = all(outcome.passed for outcome in outcomes)
            echo(f"{'PASS' if ok else 'FAIL'} {scenario['name']} ({path})")
            for outcome in outcomes:
                mark = "  ok " if outcome.passed else "  BAD"
                echo(f"{mark} {outcome.label}  [{outcome.seconds:.2f}s]")
                for problem in outcome.problems:
                    echo(f"        - {problem}")
            if ok:
                passed += 1
            else:
                failed += 1
    return passed, failed
