"""Training throughput and peak memory: this project's trainer against a plain TRL ``SFTTrainer``.

Every setting trains the same LoRA (r 16, all linear layers) on the same traces and model for a
few steps, each in its own process so that peak memory (``ru_maxrss``) belongs to one setting.
The first step is a warm-up; throughput counts the steps after it.

- ``plain-defaults``: ``SFTTrainer`` with ``SFTConfig`` defaults, as a first script would write
  it (bf16 on, padding to the longest sample, loss on every token), plus ``use_cpu=True``,
  without which the defaults are refused on a CPU.
- ``plain-fp32``: the same with ``bf16=False``, to separate the bf16 effect from the rest.
- ``project-fp32``: ``finetune.train`` in fp32 (assistant-only loss, padding-free packing).
- ``project``: ``finetune.train`` with its defaults, which add bf16 autocast over fp32 weights.

Run: ``python -m finetune.throughput --steps 3 --batch-size 4 --out throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = ("plain-defaults", "plain-fp32", "project-fp32", "project")


def _lora():
    from peft import LoraConfig

    from finetune.train import FinetuneConfig

    defaults = FinetuneConfig()
    return LoraConfig(r=defaults.lora_r, lora_alpha=defaults.lora_alpha, target_modules=defaults.target_modules, task_type="CAUSAL_LM")


def _run_one(setting: str, data_dir: Path, steps: int, batch_size: int, samples: int) -> dict:
    """Train ``steps`` steps in this process; return timing of the steps after the first."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from agent.base_model import load_tokenizer, resolve_base_model
    from finetune.train import FinetuneConfig, _read_jsonl, sft_config

    torch.manual_seed(13)
    rows = _read_jsonl(data_dir / "train.jsonl", samples)
    tokenizer = load_tokenizer()
    marks: list[float] = []

    class _Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as scratch:
        if setting.startswith("project"):
            config = FinetuneConfig(max_steps=steps, batch_size=batch_size, logging_steps=1, save_steps=10_000, warmup_steps=0, cpu_bf16_autocast=setting == "project")
            args = sft_config(config, Path(scratch), bf16=False)
        else:
            # On a CPU the defaults (bf16 on) are rejected unless use_cpu is set, the least a script must add.
            extra = {"bf16": False} if setting == "plain-fp32" else {"use_cpu": True}
            args = SFTConfig(output_dir=scratch, max_steps=steps, per_device_train_batch_size=batch_size, logging_steps=1, save_strategy="no", report_to=[], **extra)
        trainer = SFTTrainer(
            model=str(resolve_base_model()),
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=_lora(),
            callbacks=[_Clock()],
        )
        if setting.startswith("project"):
            trainer.train_dataset = trainer.train_dataset.filter(lambda row: len(row["input_ids"]) <= FinetuneConfig().max_length)
        started = time.perf_counter()
        trainer.train()
    tokens = [int(float(entry["num_tokens"])) for entry in trainer.state.log_history if "num_tokens" in entry]
    measured_seconds = marks[-1] - marks[0]
    measured_tokens = tokens[-1] - tokens[0]
    return {
        "setting": setting,
        "bf16": bool(args.bf16),
        "steps_measured": len(marks) - 1,
        "seconds_per_step": round(measured_seconds / (len(marks) - 1), 2),
        "tokens_per_second": round(measured_tokens / measured_seconds, 1),
        "samples_per_second": round(batch_size * (len(marks) - 1) / measured_seconds, 3),
        "first_step_seconds": round(marks[0] - started, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/traces", help="trace folder with train.jsonl")
    parser.add_argument("--steps", type=int, default=3, help="steps per setting; the first is a warm-up")
    parser.add_argument("--batch-size", type=int, default=4, help="samples per step")
    parser.add_argument("--samples", type=int, default=64, help="training samples to read")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS, help="which settings to run")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (the first step is a warm-up)")

    if args.one:
        print(json.dumps(_run_one(args.one, Path(args.data), args.steps, args.batch_size, args.samples)))
        return 0

    results = []
    for setting in args.settings:
        print(f"running {setting} ({args.steps} steps of {args.batch_size})...", flush=True)
        command = [sys.executable, "-m", "finetune.throughput", "--one", setting, "--data", args.data, "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--samples", str(args.samples)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise SystemExit(f"{setting} failed:\n{completed.stderr[-3000:]}")
        results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    baseline = {row["setting"]: row for row in results}
    report = {"machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores", "results": results}
    if "project" in baseline:
        for name in ("plain-defaults", "plain-fp32"):
            if name in baseline:
                report[f"speedup_vs_{name}_samples"] = round(baseline["project"]["samples_per_second"] / baseline[name]["samples_per_second"], 2)
                report[f"speedup_vs_{name}_tokens"] = round(baseline["project"]["tokens_per_second"] / baseline[name]["tokens_per_second"], 2)
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
