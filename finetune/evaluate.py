"""Offline evaluation of the policy on a trace split.

For each sample the policy decides on the context (everything before the target message). A
decision counts as:

- tool right: the same tool as the target, or the same fixed-reply kind when the target is a
  reply without a tool;
- arguments right: tool right and every argument equal to the target's, compared by value after
  JSON decoding (names, types and values, as an AST check does);
- irrelevance right (out-of-domain, dangerous and greeting samples): no tool was called.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from pathlib import Path

from agent.guard import Screen, screen_message
from tools.contract import TOOL_ARGS
from finetune.traces import load_split


def _target(sample: dict) -> tuple[str | None, dict | None, str | None]:
    """Return (tool, arguments, reply kind) of the sample's last message."""
    message = sample["messages"][-1]
    if message.get("tool_calls"):
        function = message["tool_calls"][0]["function"]
        return function["name"], json.loads(function["arguments"]), None
    return None, None, sample["meta"]["kind"]


IRRELEVANT_KINDS = {"out_of_domain", "refuse_dangerous", "greeting"}


_SCREEN_REPLY = {Screen.DANGEROUS: "refuse_dangerous", Screen.GREETING: "greeting", Screen.OFF_TOPIC: "out_of_domain"}


def evaluate_samples(policy, samples: list[dict], progress=None, use_guard: bool = True) -> dict:
    """Score ``policy`` on ``samples``; return metrics and per-sample rows.

    With ``use_guard`` the rule-based screen runs first, as in the agent; the model-only
    figures are reported beside it under ``model_only``.
    """
    rows = []
    model_only_right = []
    for sample in samples:
        tool, arguments, kind = _target(sample)
        meta = sample["meta"]
        message = sample["messages"][-2]["content"]
        decision = policy.decide(sample["messages"][:-1], meta["districts"], dt.date.fromisoformat(meta["today"]))
        chosen_tool, chosen_arguments, chosen_kind = decision.candidate.tool, decision.candidate.arguments, decision.candidate.reply_kind
        model_only_right.append((chosen_tool == tool and chosen_arguments == arguments) if tool else (chosen_tool is None and chosen_kind == kind))
        screened = _SCREEN_REPLY.get(screen_message(message)) if use_guard else None
        if screened:
            chosen_tool, chosen_arguments, chosen_kind = None, None, screened

        tool_right = (chosen_tool == tool) if tool else (chosen_tool is None and chosen_kind == kind)
        args_right = tool_right and (tool is None or chosen_arguments == arguments)
        rows.append(
            {
                "kind": meta["kind"],
                "shape": meta["shape"],
                "input": message,
                "expected": tool or kind,
                "expected_arguments": arguments,
                "chosen": chosen_tool or chosen_kind,
                "chosen_arguments": chosen_arguments,
                "screened": bool(screened),
                "tool_right": tool_right,
                "arguments_right": args_right,
                "seconds": decision.seconds,
            }
        )
        if progress:
            progress()

    def share(items: list[dict], key: str) -> float | None:
        return round(sum(row[key] for row in items) / len(items), 4) if items else None

    tool_rows = [row for row in rows if row["expected_arguments"] is not None]
    irrelevant = [row for row in rows if row["kind"] in IRRELEVANT_KINDS]
    per_kind: dict[str, dict] = {}
    for row in rows:
        entry = per_kind.setdefault(row["kind"], {"n": 0, "tool_right": 0, "arguments_right": 0})
        entry["n"] += 1
        entry["tool_right"] += row["tool_right"]
        entry["arguments_right"] += row["arguments_right"]
    seconds = [row["seconds"] for row in rows]
    metrics = {
        "samples": len(rows),
        "decision_right": share(rows, "tool_right"),
        "tool_right": share(tool_rows, "tool_right"),
        "arguments_right": share(tool_rows, "arguments_right"),
        "irrelevance_right": round(sum(row["chosen"] not in TOOL_ARGS for row in irrelevant) / len(irrelevant), 4) if irrelevant else None,
        "followup_right": share([row for row in rows if row["shape"] == "followup"], "arguments_right"),
        "p50_decision_seconds": round(statistics.median(seconds), 3) if seconds else None,
        "model_only_decision_right": round(sum(model_only_right) / len(model_only_right), 4) if model_only_right else None,
        "guard": use_guard,
        "per_kind": per_kind,
    }
    return {"metrics": metrics, "rows": rows}


def evaluate_split(data_dir: Path, split: str, base_model: str | None, adapter: str | None, limit: int | None = None) -> dict:
    from rich.progress import Progress

    from agent.policy import LocalPolicy

    samples = load_split(Path(data_dir), split)[:limit] if limit else load_split(Path(data_dir), split)
    policy = LocalPolicy(base_model, adapter)
    started = time.time()
    with Progress() as bar:
        task = bar.add_task("评估中", total=len(samples))
        report = evaluate_samples(policy, samples, progress=lambda: bar.advance(task))
    report["metrics"]["adapter"] = policy.adapter_path
    report["metrics"]["split"] = split
    report["metrics"]["wall_seconds"] = round(time.time() - started, 1)
    return report
