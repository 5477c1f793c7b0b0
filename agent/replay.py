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

An optional ``expect_state`` list checks the scenario's own database after the last step. Each
item names one check of ``STATE_CHECKS`` with its parameters, for example
``- sms_count: {kind: invitation, date: 2026-06-24, district: 城南区, count: 128}``. A ``date``
is an ISO date or today/tomorrow/yesterday, resolved against the simulator clock at the end of
the run. A scenario passes when every checked step and every state check passes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import func
from sqlmodel import Session, select

from agent.grounding import ungrounded_numbers
from sim_grid import SimError, resolve_date, resolve_district
from sim_grid.events import event_on
from sim_grid.models import Customer, District, SmsOutbox
from tools import ToolContext
from tools.lookup import all_districts, district_allocation


@dataclass
class StepOutcome:
    """Outcome of one checked item of a scenario: a dispatcher turn, a setup call or a state check."""

    scenario: str
    label: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kind: str = "turn"  # turn, setup or state
    request: str | None = None  # the dispatcher's message of a turn
    reply: str | None = None  # the agent's final reply of a turn
    tool_calls: list[dict] = field(default_factory=list)
    # Numbers of the reply found in neither the dispatcher's message nor the turn's tool results.
    ungrounded: list[str] = field(default_factory=list)


class ScenarioError(ValueError):
    """Raised when a scenario file is malformed."""


def load_scenario(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        scenario = yaml.safe_load(handle)
    if not isinstance(scenario, dict) or not isinstance(scenario.get("steps"), list):
        raise ScenarioError(f"{path}: a scenario needs a 'steps' list")
    scenario.setdefault("name", Path(path).stem)
    scenario["expect_state"] = _parse_state_checks(path, scenario.get("expect_state") or [])
    return scenario


# ---- state checks -------------------------------------------------------------------------


def _event_of(ctx: ToolContext, session: Session, reference) -> tuple:
    """Return (day, event or None) for a date reference resolved at the current simulator time."""
    day = resolve_date(ctx.engine, reference)
    return day, event_on(session, day)


def check_sms_count(ctx: ToolContext, spec: dict) -> list[str]:
    """Count outbox rows the gateway accepted (any status but queued) against ``count``.

    ``kind`` (invitation, followup, supervision, report) narrows the count to one kind. ``date``
    narrows it to the event of that day, and ``district`` to customers of one district. A report
    to the responsible people has no customer, so ``district`` excludes it.
    """
    with Session(ctx.engine) as session:
        query = select(func.count()).select_from(SmsOutbox).where(SmsOutbox.status != "queued")
        if "kind" in spec:
            query = query.where(SmsOutbox.kind == spec["kind"])
        if "date" in spec:
            day, event = _event_of(ctx, session, spec["date"])
            if event is None:
                return [] if spec["count"] == 0 else [f"no event on {day}, so no messages; expected {spec['count']}"]
            query = query.where(SmsOutbox.event_id == event.id)
        if "district" in spec:
            name = resolve_district(ctx.engine, spec["district"])
            query = (
                query.join(Customer, Customer.id == SmsOutbox.customer_id)
                .join(District, District.id == Customer.district_id)
                .where(District.name == name)
            )
        found = session.exec(query).one()
    return [] if found == spec["count"] else [f"expected {spec['count']} messages in the outbox, found {found}"]


def check_allocations(ctx: ToolContext, spec: dict) -> list[str]:
    """Check the stored district-level decomposition of the event on ``date``.

    ``total_mw`` is the expected sum of the district targets, and ``districts`` maps district
    names (full or short) to expected targets in MW. A district missing from the map is not checked.
    """
    problems = []
    with Session(ctx.engine) as session:
        day, event = _event_of(ctx, session, spec["date"])
        if event is None:
            return [f"no event on {day}, so no decomposition stored"]
        targets = {}
        for district in all_districts(session):
            allocation = district_allocation(session, event, district)
            if allocation is not None:
                targets[district.name] = allocation.target_mw
    if not targets:
        return [f"no district targets stored for the event on {day}"]
    if "total_mw" in spec and not _same_value(spec["total_mw"], round(sum(targets.values()), 3)):
        problems.append(f"district targets sum to {round(sum(targets.values()), 3)} MW, expected {spec['total_mw']} MW")
    for name, expected in (spec.get("districts") or {}).items():
        full_name = resolve_district(ctx.engine, name)
        if full_name not in targets:
            problems.append(f"no target stored for {full_name}")
        elif not _same_value(expected, targets[full_name]):
            problems.append(f"{full_name} target {targets[full_name]} MW, expected {expected} MW")
    return problems


def check_event(ctx: ToolContext, spec: dict) -> list[str]:
    """Check the event on ``date``: its ``status`` (planned, notified, running, done), or ``exists: false``."""
    with Session(ctx.engine) as session:
        day, event = _event_of(ctx, session, spec["date"])
        status = event.status if event is not None else None
    exists = spec.get("exists", True)
    if not exists:
        return [] if status is None else [f"expected no event on {day}, found one ({status})"]
    if status is None:
        return [f"expected an event on {day}, found none"]
    if "status" in spec and status != spec["status"]:
        return [f"event on {day} is {status}, expected {spec['status']}"]
    return []


# Check name -> (function, required parameters, optional parameters).
STATE_CHECKS = {
    "sms_count": (check_sms_count, {"count"}, {"kind", "date", "district"}),
    "allocations": (check_allocations, {"date"}, {"total_mw", "districts"}),
    "event": (check_event, {"date"}, {"status", "exists"}),
}


def _parse_state_checks(path: Path, items) -> list[tuple[str, dict]]:
    """Return the ``expect_state`` items as (check name, parameters), rejecting unknown names and parameters."""
    if not isinstance(items, list):
        raise ScenarioError(f"{path}: expect_state must be a list of checks")
    checks = []
    for item in items:
        if not isinstance(item, dict) or len(item) != 1:
            raise ScenarioError(f"{path}: each expect_state item names one check, got {item!r}")
        name, spec = next(iter(item.items()))
        if name not in STATE_CHECKS:
            raise ScenarioError(f"{path}: unknown state check {name!r}; known: {', '.join(STATE_CHECKS)}")
        spec = dict(spec or {})
        _, required, optional = STATE_CHECKS[name]
        if required - spec.keys():
            raise ScenarioError(f"{path}: state check {name} is missing {', '.join(sorted(required - spec.keys()))}")
        if spec.keys() - required - optional:
            raise ScenarioError(f"{path}: state check {name} does not take {', '.join(sorted(spec.keys() - required - optional))}")
        if "date" in spec:
            # YAML reads 2026-06-24 as a date; keep the text so that labels and JSON show it as written.
            spec["date"] = str(spec["date"])
        checks.append((name, spec))
    return checks


def check_state(ctx: ToolContext, name: str, spec: dict) -> list[str]:
    """Run the state check ``name`` with ``spec`` on ``ctx``; return what is wrong (empty when it passes)."""
    function = STATE_CHECKS[name][0]
    try:
        return function(ctx, spec)
    except SimError as error:
        return [f"state check {name} failed: {error}"]


def _state_label(name: str, spec: dict) -> str:
    return f"state {name}(" + ", ".join(f"{key}={value}" for key, value in spec.items()) + ")"


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
    """Run one scenario on a copy of ``template_db``; return an outcome per checked step and state check."""
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
                    outcomes.append(StepOutcome(name, f"setup {step['tool']['name']}", False, [result.get("error", "failed")], kind="setup"))
            elif "say" in step:
                request = str(step["say"])
                turn = session.send(request)
                calls = list(turn.tool_calls)
                sources: list = [request, *turn.tool_results, *turn.pending_approval]
                if turn.pending_approval and "approve" in step:
                    turn = session.resume(approved=bool(step["approve"]))
                    turn.tool_calls = calls + turn.tool_calls
                    sources += [*turn.tool_results, *turn.pending_approval]
                problems = check_turn(step.get("expect", {}), turn)
                calls = ", ".join(f"{c['name']}({c['arguments']})" for c in turn.tool_calls) or "no tool"
                label = f"{step['say']} -> {calls}\n      {turn.reply}"
                outcomes.append(
                    StepOutcome(
                        name,
                        label,
                        not problems,
                        problems,
                        turn.seconds,
                        request=request,
                        reply=turn.reply,
                        tool_calls=list(turn.tool_calls),
                        ungrounded=sorted(ungrounded_numbers(turn.reply, sources)),
                    )
                )
            else:
                raise ScenarioError(f"{name}: unknown step {step!r}")
        for check, spec in scenario.get("expect_state") or []:
            problems = check_state(ctx, check, spec)
            outcomes.append(StepOutcome(name, _state_label(check, spec), not problems, problems, kind="state"))
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
