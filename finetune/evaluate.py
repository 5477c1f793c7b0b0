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

from finetune.traces import load_split


def _target(sample: dict) -> tuple[str | None, dict | None, str | None]:
    """Return (tool, arguments, reply kind) of the sample's last message."""
    message = sample["messages"][-1]
    if message.get("tool_calls"):
        function = message["tool_calls"][0]["function"]
        return function["name"], json.loads(function["arguments"]), None
    return None, None, sample["meta"]["kind"]


IRRELEVANT_KINDS = {"out_of_domain", "refuse_dangerous", "greeting"}


def evaluate_samples(policy, samples: list[dict], progress=None) -> dict:
    """Score ``policy`` on ``samples``; return metrics and per-sample rows."""
    rows = []
    for sample in samples:
        tool, arguments, kind = _target(sample)
        meta = sample["meta"]
        decision = policy.decide(sample["messages"][:-1], meta["districts"], dt.date.fromisoformat(meta["today"]))
        chosen = decision.candidate
        tool_right = (chosen.tool == tool) if tool else (chosen.tool is None and chosen.reply_kind == kind)
        args_right = tool_right and (tool is None or chosen.arguments == arguments)
        rows.append(
            {
                "kind": meta["kind"],
                "shape": meta["shape"],
                "input": sample["messages"][-2]["content"],
                "expected": tool or kind,
                "expected_arguments": arguments,
                "chosen": chosen.tool or chosen.reply_kind,
                "chosen_arguments": chosen.arguments,
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
        "irrelevance_right": round(sum(row["chosen"] in IRRELEVANT_KINDS for row in irrelevant) / len(irrelevant), 4) if irrelevant else None,
        "followup_right": share([row for row in rows if row["shape"] == "followup"], "arguments_right"),
        "p50_decision_seconds": round(statistics.median(seconds), 3) if seconds else None,
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
