"""Evaluation reports: console tables for one or more models and the Markdown page ``docs/evaluation.md``.

``compare_models`` evaluates several models (each a value of ``--adapter``: ``none``, a LoRA
folder, a full-model folder or a bottleneck-adapter folder) on the same split and scenarios and
writes the Markdown page and a JSON file beside it. The page states the command, date, machine
and data that produced it, so that it can be regenerated and compared.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import json
import platform
import re
from pathlib import Path

from finetune.evaluate import EvalConfig, evaluate_policy, scenario_paths

# Scenario files whose first dispatcher message is one of the seven specification questions.
SPECIFICATION_FILE = re.compile(r"^0[1-7]_")


# ---- metric rows --------------------------------------------------------------------------


def _percent(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _seconds(value) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def _count(value) -> str:
    return "n/a" if value is None else str(value)


def _scenario_metric(report: dict, key: str):
    scenario = report["metrics"].get("scenario")
    return scenario.get(key) if scenario else None


def _sampled_metric(report: dict, key: str):
    scenario = report["metrics"].get("scenario")
    sampled = scenario.get("sampled") if scenario else None
    return sampled.get(key) if sampled else None


def metric_rows(reports: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """Return (metric label, one formatted cell per model) for every metric of ``reports``."""
    models = list(reports.values())
    rows: list[tuple[str, object, object]] = [
        ("split samples scored", lambda r: r["metrics"]["samples"], _count),
        ("decision right (all samples)", lambda r: r["metrics"]["decision_right"], _percent),
        ("tool right (tool samples)", lambda r: r["metrics"]["tool_right"], _percent),
        ("arguments right, AST match (tool samples)", lambda r: r["metrics"]["arguments_right"], _percent),
        ("irrelevance right (no tool on off-domain)", lambda r: r["metrics"]["irrelevance_right"], _percent),
        ("follow-ups right", lambda r: r["metrics"]["followup_right"], _percent),
        ("decision right, model alone (no rule screen)", lambda r: r["metrics"]["model_only_decision_right"], _percent),
        ("decision p50", lambda r: r["metrics"]["p50_decision_seconds"], _seconds),
        ("scenarios run", lambda r: _scenario_metric(r, "scenarios"), _count),
        ("scenario task success (greedy)", lambda r: _scenario_metric(r, "task_success"), _percent),
        ("scenario turn checks passed (greedy)", lambda r: _scenario_metric(r, "turn_checks_passed"), _percent),
        ("scenario state checks passed (greedy)", lambda r: _scenario_metric(r, "state_checks_passed"), _percent),
        ("replies with every number grounded (greedy)", lambda r: _scenario_metric(r, "grounded_replies"), _percent),
    ]
    sampled = _sampled_metric(models[0], "runs_per_scenario") if models else None
    if sampled:
        temperature = _sampled_metric(models[0], "temperature")
        for k in range(1, sampled + 1):
            rows.append(
                (f"pass^{k} over {sampled} sampled runs (T={temperature})", lambda r, k=k: (_sampled_metric(r, "pass_hat_k") or {}).get(str(k)), _percent)
            )
        rows.append(("replies with every number grounded (sampled)", lambda r: _sampled_metric(r, "grounded_replies"), _percent))
    rows.append(("evaluation wall time", lambda r: r["metrics"]["wall_seconds"], lambda v: "n/a" if v is None else f"{v:.0f} s"))
    return [(label, [render(value(report)) for report in models]) for label, value, render in rows]


def _scenario_cell(result: dict | None) -> str:
    """Render one model's result on one scenario: greedy pass or fail, then sampled successes."""
    if result is None:
        return "not run"
    cell = "pass" if result["greedy"]["passed"] else "FAIL"
    if result["sampled"]:
        cell += f", sampled {sum(run['passed'] for run in result['sampled'])}/{len(result['sampled'])}"
    return cell


def scenario_rows(reports: dict[str, dict]) -> list[tuple[str, list[str]]]:
    """Return (scenario, one cell per model) for every scenario any model ran, in run order."""
    by_model = {name: {result["path"]: result for result in report["scenarios"]} for name, report in reports.items()}
    order: dict[str, str] = {}
    for report in reports.values():
        for result in report["scenarios"]:
            order.setdefault(result["path"], f"{Path(result['path']).stem} ({result['name']})")
    return [(label, [_scenario_cell(by_model[name].get(path)) for name in reports]) for path, label in order.items()]


# ---- console ------------------------------------------------------------------------------


def print_console(reports: dict[str, dict], console=None) -> None:
    """Print the metric, scenario and per-kind tables of ``reports`` with rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    names = list(reports)

    metrics = Table(title="Evaluation")
    metrics.add_column("metric")
    for name in names:
        metrics.add_column(name, justify="right")
    for label, cells in metric_rows(reports):
        metrics.add_row(label, *cells)
    console.print(metrics)

    rows = scenario_rows(reports)
    if rows:
        scenarios = Table(title="Scenarios (greedy run; sampled successes)")
        scenarios.add_column("scenario")
        for name in names:
            scenarios.add_column(name)
        for label, cells in rows:
            scenarios.add_row(label, *cells)
        console.print(scenarios)
        for name, report in reports.items():
            for result in report["scenarios"]:
                for problem in result["greedy"]["problems"]:
                    console.print(f"[red]{name} {Path(result['path']).stem}:[/red] {problem}", highlight=False)

    kinds = Table(title="Per kind: tool right / arguments right (split)")
    kinds.add_column("kind")
    for name in names:
        kinds.add_column(name, justify="right")
    all_kinds = sorted({kind for report in reports.values() for kind in report["metrics"]["per_kind"]})
    for kind in all_kinds:
        cells = []
        for report in reports.values():
            entry = report["metrics"]["per_kind"].get(kind)
            cells.append(f"{entry['tool_right']}/{entry['n']} · {entry['arguments_right']}/{entry['n']}" if entry else "n/a")
        kinds.add_row(kind, *cells)
    console.print(kinds)


# ---- provenance ---------------------------------------------------------------------------


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def data_provenance(config: EvalConfig) -> dict:
    """Describe the split and scenario files an evaluation read: paths, sizes and sha256."""
    split_file = Path(config.data_dir) / f"{config.split}.jsonl"
    with open(split_file, encoding="utf-8") as handle:
        split_samples = sum(1 for line in handle if line.strip())
    card_file = Path(config.data_dir) / "dataset_card.json"
    card = json.loads(card_file.read_text(encoding="utf-8")) if card_file.is_file() else {}
    paths = scenario_paths(config.scenarios)
    return {
        "split_file": str(split_file),
        "split_samples": split_samples,
        "split_samples_scored": min(split_samples, config.limit) if config.limit else split_samples,
        "split_sha256": _sha256([split_file]),
        "dataset_sha256": card.get("sha256"),
        "train_samples": card.get("splits", {}).get("train", {}).get("samples"),
        "scenario_files": [str(path) for path in paths],
        "scenarios_sha256": _sha256(paths) if paths else None,
    }


def machine_description(device: str) -> str:
    """Describe the CPU, memory, Python and the ML libraries, plus the device the model ran on."""
    import torch
    import transformers

    from tools.benchmark import machine_line

    return f"{machine_line()}, torch {torch.__version__}, transformers {transformers.__version__}, model on {device}"


# ---- Markdown -----------------------------------------------------------------------------


def _table(header: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, cells in rows:
        lines.append("| " + " | ".join(_cell_text(text) for text in [label, *cells]) + " |")
    return lines


def _cell_text(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _call_text(call: dict) -> str:
    arguments = ", ".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in call["arguments"].items())
    return f"`{call['name']}({arguments})`"


def _answers_section(reports: dict[str, dict]) -> list[str]:
    """Render each specification question with every model's tool call and final reply."""
    questions: dict[str, dict] = {}
    for report in reports.values():
        for result in report["scenarios"]:
            if SPECIFICATION_FILE.match(Path(result["path"]).name) and result["first_turn"]:
                questions.setdefault(result["path"], result)
    lines = ["## The seven specification questions", ""]
    if not questions:
        return lines + ["No specification scenario (files 01 to 07) was run.", ""]
    lines += [
        "Each question is the first dispatcher message of its scenario, asked after the scenario's setup steps "
        "(for example the decomposition before the invitation). The answer is the greedy run's tool call and final "
        "reply; a send counts as approved where the scenario approves it.",
        "",
    ]
    for path, first in sorted(questions.items()):
        number = int(Path(path).name[:2])
        lines += [f"### {number}. {first['first_turn']['request']}", "", f"Scenario `{path}` ({first['name']}).", ""]
        for name, report in reports.items():
            result = next((item for item in report["scenarios"] if item["path"] == path), None)
            if result is None or result["first_turn"] is None:
                lines += [f"**{name}**: not run.", ""]
                continue
            turn = result["first_turn"]
            calls = ", ".join(_call_text(call) for call in turn["tool_calls"]) or "no tool"
            lines += [f"**{name}**: {calls}", ""]
            lines += ["> " + line if line else ">" for line in (turn["reply"] or "").splitlines()] or ["> (empty reply)"]
            lines.append("")
    return lines


def render_markdown(reports: dict[str, dict], models: dict[str, str], command: str, generated_at: dt.datetime, machine: str, data: dict) -> str:
    """Render the evaluation page: provenance, one metric table, scenarios, then each model's replies to the specification questions."""
    names = list(reports)
    config = next(iter(reports.values()))["config"]
    lines = [
        "# Evaluation",
        "",
        "Generated by this command; do not edit by hand, run it again instead:",
        "",
        "```",
        command,
        "```",
        "",
        f"- Date: {generated_at:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine}",
        f"- Split: `{data['split_file']}`, {data['split_samples_scored']} of {data['split_samples']} samples scored, "
        f"sha256 {data['split_sha256'][:16]}",
        f"- Dataset: sha256 {(data['dataset_sha256'] or 'unknown')[:16]} (dataset card), {data['train_samples'] or 'unknown'} training samples",
        f"- Scenarios: {len(data['scenario_files'])} files, sha256 {(data['scenarios_sha256'] or 'none')[:16]}",
        "- Models: " + "; ".join(f"{name} = `{value}`" for name, value in models.items()),
        "",
        "## Metrics",
        "",
    ]
    lines += _table(["metric", *names], metric_rows(reports))
    lines += [
        "",
        "Split metrics score one decision per sample of the held-out split, with the rule screen in front as in the "
        "agent. Arguments count as right when the call's arguments equal the target's after JSON decoding. "
        "A scenario succeeds when every turn check and every check of the simulator's final state passes. "
        "pass^k is C(c, k) / C(n, k) for a scenario with c successes in n sampled runs, averaged over the scenarios: "
        "the chance that k runs drawn from the n all succeed. A reply is grounded when each number in it occurs in the "
        "dispatcher's message or in a tool result of that turn.",
        "",
    ]
    rows = scenario_rows(reports)
    if rows:
        lines += ["## Scenarios", ""]
        sampled = config["samples"]
        lines.append(
            f"Greedy run, then successes of {sampled} sampled runs (temperature {config['temperature']}, seeds {config['seed']} to {config['seed'] + sampled - 1})."
            if sampled
            else "Greedy run of each scenario."
        )
        lines.append("")
        lines += _table(["scenario", *names], rows)
        lines.append("")
    lines += _answers_section(reports)
    return "\n".join(lines).rstrip() + "\n"


# ---- several models -----------------------------------------------------------------------


def parse_model_option(text: str) -> tuple[str, str]:
    """Split a ``NAME=VALUE`` model option; VALUE is what ``--adapter`` accepts."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip() or not value.strip():
        raise ValueError(f"--model takes NAME=VALUE, for example base=none or lora=data/adapter; got {text!r}")
    return name.strip(), value.strip()


def compare_models(models: dict[str, str], config: EvalConfig, out: Path, command: str, base_model: str | None = None, show_progress: bool = True) -> dict[str, dict]:
    """Evaluate each model of ``models`` (name -> adapter value) and write ``out`` and its ``.json`` twin.

    Models load one at a time and each is freed before the next loads, so only one is in memory at a time.
    """
    from agent.policy import LocalPolicy

    data = data_provenance(config)
    reports: dict[str, dict] = {}
    device = "unknown"
    for name, adapter in models.items():
        policy = LocalPolicy(base_model, adapter)
        device = str(next(policy.model.parameters()).device)
        reports[name] = evaluate_policy(policy, config, name=name, show_progress=show_progress)
        reports[name]["adapter_option"] = adapter
        del policy
        gc.collect()

    generated_at = dt.datetime.now(dt.timezone.utc)
    machine = machine_description(device)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(reports, models, command, generated_at, machine, data), encoding="utf-8")
    record = {
        "command": command,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "machine": machine,
        "platform": platform.platform(),
        "data": data,
        "config": dataclasses.asdict(config),
        "models": reports,
    }
    out.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return reports
