"""Offline evaluation of the policy on a trace split.

For each sample the policy decides on the context (everything before the target message). A
decision counts as:

- tool right: the same tool as the target, or the same fixed-reply kind when the target is a
  reply without a tool;
- arguments right: tool right and every argument equal to the target's, compared by value after
  JSON decoding (names, types and values, as an AST check does);
- irrelevance right (out-of-domain, dangerous and greeting samples): no tool was called.

The scenario scripts (``agent.replay``) measure whole tasks: a scenario succeeds when every
turn check and every state check of the simulator's final state passes. Each scenario runs once
greedily (task success) and, on request, N more times with sampled decoding, which gives pass^k
as tau-bench defines it: for a task with n runs and c successes pass^k = C(c, k) / C(n, k), the
chance that k runs drawn from the n all succeed, averaged over the tasks. The share of final
replies whose every number is grounded (``agent.grounding``) is reported for both kinds of run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import statistics
import tempfile
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
    """Load the policy for (base model, adapter) and score it on ``split``, without scenarios."""
    from agent.policy import LocalPolicy

    config = EvalConfig(data_dir=str(data_dir), split=split, limit=limit, scenarios=[])
    return evaluate_policy(LocalPolicy(base_model, adapter), config)


# ---- scenario tasks and pass^k ------------------------------------------------------------


def pass_hat_k(runs: int, successes: int, k: int) -> float:
    """Return C(successes, k) / C(runs, k): the chance that k of ``runs`` runs, drawn without replacement, all succeed."""
    if not 1 <= k <= runs:
        raise ValueError(f"k must be between 1 and the number of runs ({runs}), got {k}")
    if not 0 <= successes <= runs:
        raise ValueError(f"successes must be between 0 and {runs}, got {successes}")
    return math.comb(successes, k) / math.comb(runs, k)


def mean_pass_hat_k(outcomes_per_task: list[list[bool]], k: int) -> float:
    """Average pass^k over tasks, each given as the list of its runs' outcomes (True: success)."""
    if not outcomes_per_task:
        raise ValueError("pass^k needs at least one task")
    values = [pass_hat_k(len(outcomes), sum(outcomes), k) for outcomes in outcomes_per_task]
    return sum(values) / len(values)


def scenario_paths(items: list[str | Path]) -> list[Path]:
    """Expand folders into their sorted ``*.yaml`` files; keep files as given."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            paths.extend(sorted(path.glob("*.yaml")))
        elif path.is_file():
            paths.append(path)
        else:
            raise FileNotFoundError(item)
    return paths


def _run_summary(outcomes) -> dict:
    """Condense one scenario run: success, failed checks and the grounding of each turn's final reply."""
    turns = [outcome for outcome in outcomes if outcome.kind == "turn"]
    states = [outcome for outcome in outcomes if outcome.kind == "state"]
    return {
        "passed": all(outcome.passed for outcome in outcomes),
        "turn_checks": len(turns),
        "turn_checks_passed": sum(outcome.passed for outcome in turns),
        "state_checks": len(states),
        "state_checks_passed": sum(outcome.passed for outcome in states),
        "replies": len(turns),
        "grounded_replies": sum(not outcome.ungrounded for outcome in turns),
        "problems": [f"{outcome.label.splitlines()[0]}: {problem}" for outcome in outcomes for problem in outcome.problems],
        "ungrounded": [{"reply": outcome.reply, "numbers": outcome.ungrounded} for outcome in turns if outcome.ungrounded],
    }


def _share(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _totals(runs: list[dict]) -> dict:
    """Sum the per-run counts of ``_run_summary`` over ``runs``."""
    keys = ("turn_checks", "turn_checks_passed", "state_checks", "state_checks_passed", "replies", "grounded_replies")
    return {key: sum(run[key] for run in runs) for key in keys}


def evaluate_scenarios(policy, paths: list[Path], samples: int = 0, temperature: float = 1.0, seed: int = 0, progress=None) -> dict:
    """Run each scenario once greedily and ``samples`` times sampled; return metrics and per-scenario results.

    Sampled run r (from 0) of every scenario draws from a generator seeded with ``seed + r``,
    so a rerun draws the same random numbers. NOTE: the reused KV cache shifts logits in the
    last float digits, so a draw that lands on a probability boundary may still differ between
    a full evaluation and a rerun of one scenario.
    """
    from agent.chat_model import make_local_chat_model
    from agent.replay import load_scenario, run_scenario
    from sim_grid import create_city

    if samples < 0:
        raise ValueError(f"samples must be 0 or more, got {samples}")
    if samples and temperature <= 0:
        raise ValueError(f"sampled runs need a temperature above 0, got {temperature}")

    def factory(facts):
        return make_local_chat_model(policy, facts)

    results = []
    with tempfile.TemporaryDirectory(prefix="dr-eval-") as folder:
        template = Path(folder) / "demo.db"
        create_city(template).dispose()
        for index, path in enumerate(paths):
            scenario = load_scenario(path)
            runs = []
            for run in range(samples + 1):
                workdir = Path(folder) / f"s{index}r{run}"
                workdir.mkdir()
                if run == 0:
                    outcomes = run_scenario(scenario, template, factory, workdir)
                else:
                    with policy.sampling(temperature, seed + run - 1):
                        outcomes = run_scenario(scenario, template, factory, workdir)
                runs.append((outcomes, _run_summary(outcomes)))
                if progress:
                    progress()

            greedy_outcomes, greedy = runs[0]
            first_turn = next((outcome for outcome in greedy_outcomes if outcome.kind == "turn"), None)
            results.append(
                {
                    "name": scenario["name"],
                    "path": str(path),
                    "greedy": greedy,
                    "sampled": [summary for _, summary in runs[1:]],
                    "first_turn": {
                        "request": first_turn.request,
                        "tool_calls": first_turn.tool_calls,
                        "reply": first_turn.reply,
                    }
                    if first_turn
                    else None,
                }
            )
    return {"metrics": _scenario_metrics(results, samples, temperature, seed), "scenarios": results}


def _scenario_metrics(results: list[dict], samples: int, temperature: float, seed: int) -> dict:
    greedy_runs = [result["greedy"] for result in results]
    greedy_totals = _totals(greedy_runs)
    metrics: dict = {
        "scenarios": len(results),
        "task_success": _share(sum(run["passed"] for run in greedy_runs), len(greedy_runs)),
        "turn_checks_passed": _share(greedy_totals["turn_checks_passed"], greedy_totals["turn_checks"]),
        "state_checks_passed": _share(greedy_totals["state_checks_passed"], greedy_totals["state_checks"]),
        "grounded_replies": _share(greedy_totals["grounded_replies"], greedy_totals["replies"]),
        "replies_checked": greedy_totals["replies"],
        "sampled": None,
    }
    if samples and results:
        sampled_runs = [run for result in results for run in result["sampled"]]
        sampled_totals = _totals(sampled_runs)
        outcomes = [[run["passed"] for run in result["sampled"]] for result in results]
        metrics["sampled"] = {
            "runs_per_scenario": samples,
            "temperature": temperature,
            "seed": seed,
            "pass_hat_k": {str(k): round(mean_pass_hat_k(outcomes, k), 4) for k in range(1, samples + 1)},
            "grounded_replies": _share(sampled_totals["grounded_replies"], sampled_totals["replies"]),
            "replies_checked": sampled_totals["replies"],
        }
    return metrics


# ---- one model, everything ----------------------------------------------------------------


@dataclasses.dataclass
class EvalConfig:
    """Scope of an evaluation (split, scenarios, sampling), stored in its report beside the figures."""

    data_dir: str = "data/traces"  # folder of the trace splits
    split: str = "test"  # split scored for tool, argument and irrelevance accuracy
    limit: int | None = None  # score only the first N samples of the split; None: all
    scenarios: list[str] = dataclasses.field(default_factory=lambda: ["data/scenarios"])  # YAML files or folders; empty: none
    samples: int = 0  # sampled runs per scenario for pass^k, on top of the greedy run
    temperature: float = 1.0  # sampling temperature of the sampled runs
    seed: int = 0  # sampled run r uses a torch.Generator seeded with seed + r

    def __post_init__(self) -> None:
        # Checked here so that a bad option fails before any model loads.
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.samples < 0:
            raise ValueError(f"samples must be 0 or more, got {self.samples}")
        if self.samples and self.temperature <= 0:
            raise ValueError(f"sampled runs need a temperature above 0, got {self.temperature}")


def evaluate_policy(policy, config: EvalConfig, name: str | None = None, show_progress: bool = True) -> dict:
    """Score ``policy`` on the split and the scenarios of ``config``; return one JSON-serialisable report."""
    from rich.progress import Progress

    samples = load_split(Path(config.data_dir), config.split)
    if config.limit:
        samples = samples[: config.limit]
    paths = scenario_paths(config.scenarios)

    started = time.time()
    with Progress(disable=not show_progress) as bar:
        split_task = bar.add_task(f"{name or 'model'}: {config.split} split", total=len(samples))
        split_report = evaluate_samples(policy, samples, progress=lambda: bar.advance(split_task))
        scenario_report = None
        if paths:
            scenario_task = bar.add_task(f"{name or 'model'}: scenario runs", total=len(paths) * (config.samples + 1))
            scenario_report = evaluate_scenarios(
                policy, paths, config.samples, config.temperature, config.seed, progress=lambda: bar.advance(scenario_task)
            )

    metrics = split_report["metrics"]
    metrics["adapter"] = policy.adapter_path
    metrics["split"] = config.split
    metrics["scenario"] = scenario_report["metrics"] if scenario_report else None
    metrics["wall_seconds"] = round(time.time() - started, 1)
    return {
        "model": name,
        "config": dataclasses.asdict(config),
        "metrics": metrics,
        "rows": split_report["rows"],
        "scenarios": scenario_report["scenarios"] if scenario_report else [],
    }
