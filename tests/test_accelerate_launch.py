"""The finetune entry point under `accelerate launch`, and the shipped accelerate configs.

DeepSpeed and GPUs are absent here, so the launch runs one CPU process (configs/accelerate/cpu.yaml).
The ZeRO-3 and FSDP2 files are only parsed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.base_model import cache_dir
from finetune.traces import TraceConfig, write_dataset

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCELERATE_CONFIGS = REPO_ROOT / "configs" / "accelerate"
# A safety net for a hung launch, not a speed target.
LAUNCH_TIMEOUT_SECONDS = 1200


def test_accelerate_launch_trains_one_step(tmp_path):
    data = tmp_path / "traces"
    write_dataset(TraceConfig(seed=3, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1), data)
    config_file = tmp_path / "finetune.yaml"
    config_file.write_text(
        yaml.safe_dump({"max_steps": 1, "batch_size": 1, "max_train_samples": 1, "warmup_steps": 0, "logging_steps": 1}),
        encoding="utf-8",
    )
    output = tmp_path / "adapter"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ACCELERATE_CONFIGS / "cpu.yaml"),
        "--num_cpu_threads_per_process", "1",
        "-m", "agent.cli", "finetune",
        "--config", str(config_file),
        "--data", str(data),
        "--output", str(output),
    ]  # fmt: skip
    # The same cache as the rest of the suite, so the converted base model is reused.
    env = {**os.environ, "DR_AGENT_CACHE": str(cache_dir())}

    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT_SECONDS)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (output / "adapter_config.json").is_file()
    assert (output / "adapter_model.safetensors").is_file()
    saved = yaml.safe_load((output / "finetune_config.yaml").read_text(encoding="utf-8"))
    assert saved["max_steps"] == 1
    assert saved["data_dir"] == str(data)
    summary = json.loads((output / "train_summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 1
    assert summary["train_samples"] == 1


@pytest.mark.parametrize(
    ("name", "distributed_type", "backend_key", "backend_value"),
    [
        ("zero3.yaml", "DEEPSPEED", "zero_stage", 3),
        ("fsdp2.yaml", "FSDP", "fsdp_version", 2),
    ],
)
def test_shipped_config_names_its_backend(name, distributed_type, backend_key, backend_value):
    from accelerate.commands.config.config_args import load_config_from_file

    # accelerate's own loader raises on keys it does not know.
    config = load_config_from_file(str(ACCELERATE_CONFIGS / name))

    assert config.distributed_type == distributed_type
    backend = config.deepspeed_config if distributed_type == "DEEPSPEED" else config.fsdp_config
    assert backend[backend_key] == backend_value
    assert config.use_cpu is False
    assert config.mixed_precision == "bf16"


def test_cpu_config_runs_one_process():
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ACCELERATE_CONFIGS / "cpu.yaml"))

    assert config.distributed_type == "NO"
    assert config.use_cpu is True
    assert config.num_processes == 1
    assert config.mixed_precision == "no"
