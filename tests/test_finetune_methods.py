"""The three training methods on real (tiny) runs: LoRA, full-parameter and bottleneck adapters.

Each run trains a couple of steps of the embedded SmolLM2-135M on a handful of generated traces,
then the artefact is loaded the way the agent loads it and asked to decide a turn.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from finetune.traces import TraceConfig, write_dataset
from finetune.train import FinetuneConfig, FinetuneConfigError, train

TINY = TraceConfig(seed=3, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1)
QUESTION = [{"role": "user", "content": "把明天的缺口按平均值法分解到各区"}]
DISTRICTS = ["城南区", "城北区", "城东区", "城西区"]


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("traces")
    write_dataset(TINY, folder)
    return folder


def _tiny_run(traces: Path, output: Path, method: str, **extra) -> dict:
    settings = dict(method=method, data_dir=str(traces), output_dir=str(output), max_steps=2, batch_size=2, max_train_samples=4, warmup_steps=0, logging_steps=1)
    settings.update(extra)
    return train(FinetuneConfig(**settings))


@pytest.fixture(scope="module")
def tiny_lora(traces, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("lora")
    _tiny_run(traces, output, "lora", learning_rate=5e-3)
    return output


def test_full_run_trains_every_weight(traces, tmp_path):
    from agent.base_model import artefact_kind, load_model
    from agent.policy import LocalPolicy

    output = tmp_path / "full"
    summary = _tiny_run(traces, output, "full")

    assert summary["trainable_parameters"] == summary["total_parameters"]
    assert artefact_kind(output) == "full"
    saved = yaml.safe_load((output / "finetune_config.yaml").read_text())
    assert (saved["method"], saved["max_steps"]) == ("full", 2)
    base = load_model(None, None)
    tuned = load_model(None, str(output))
    changed = [name for name, weight in tuned.state_dict().items() if not torch.equal(weight, base.state_dict()[name])]
    assert len(changed) > 0.5 * len(base.state_dict())
    decision = LocalPolicy(adapter=str(output)).decide(QUESTION, DISTRICTS, dt.date(2026, 6, 23))
    assert decision.candidate.text


def test_adapter_run_trains_only_adapters(traces, tmp_path):
    from safetensors.torch import load_file

    from agent.base_model import artefact_kind, load_model

    output = tmp_path / "adapter"
    summary = _tiny_run(traces, output, "adapter", bottleneck_dim=8, learning_rate=5e-3)

    layers = load_model().config.num_hidden_layers
    hidden = load_model().config.hidden_size
    # Two modules per layer, each down (hidden*8 + 8) and up (8*hidden + hidden).
    assert summary["trainable_parameters"] == layers * 2 * (hidden * 8 + 8 + 8 * hidden + hidden)
    assert artefact_kind(output) == "adapter"
    weights = load_file(str(output / "bottleneck.safetensors"))
    assert all("bottleneck_" in name for name in weights)
    # The up-projections start at zero; two steps moved them.
    assert any(weight.abs().sum() > 0 for name, weight in weights.items() if ".up." in name)


def test_lora_artefact_merges_for_vllm(tiny_lora, tmp_path):
    from agent.base_model import load_model
    from finetune.export_model import check_vllm_lora, export_merged

    config = json.loads((tiny_lora / "adapter_config.json").read_text())
    assert config["use_dora"] is False
    assert check_vllm_lora(tiny_lora) == []

    merged = tmp_path / "merged"
    export_merged(tiny_lora, merged)
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        expected = load_model(None, str(tiny_lora)).forward(input_ids=ids).logits
        exported = load_model(str(merged), None).forward(input_ids=ids).logits
    assert torch.allclose(expected, exported, atol=1e-4)
    assert (merged / "chat_template.jinja").read_text() == (tiny_lora / "chat_template.jinja").read_text()


def test_vllm_check_names_rejections(tiny_lora, tmp_path):
    from finetune.export_model import check_vllm_lora

    config = json.loads((tiny_lora / "adapter_config.json").read_text())
    config.update(use_dora=True, target_modules=["q_proj", "lm_head"])
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    problems = check_vllm_lora(tmp_path)
    assert len(problems) == 2
    assert "DoRA" in problems[0]
    assert "lm_head" in problems[1]


def test_export_rejects_bottleneck_adapter(traces, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "agent.cli", "export", "--adapter", str(_bottleneck_folder(tmp_path)), "--out", str(tmp_path / "out"), "--merge"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    assert "无法导出" in result.stderr
    assert "Traceback" not in result.stderr


def _bottleneck_folder(tmp_path: Path) -> Path:
    from agent.base_model import load_model
    from agent.bottleneck import BottleneckConfig, add_bottleneck_adapters, save_bottleneck

    model = load_model()
    config = BottleneckConfig(bottleneck_dim=4)
    add_bottleneck_adapters(model, config)
    save_bottleneck(model, tmp_path / "bottleneck", config)
    return tmp_path / "bottleneck"


def test_adapters_switch_per_request(tiny_lora):
    from agent.policy import SHIPPED_ADAPTER, LocalPolicy

    today = dt.date(2026, 6, 23)
    both = LocalPolicy(adapters={"shipped": str(SHIPPED_ADAPTER), "tiny": str(tiny_lora)})
    for name, single in (("shipped", LocalPolicy(adapter=str(SHIPPED_ADAPTER))), ("base", LocalPolicy(adapter="none")), ("tiny", LocalPolicy(adapter=str(tiny_lora)))):
        switched = both.decide(QUESTION, DISTRICTS, today, adapter_name=name)
        alone = single.decide(QUESTION, DISTRICTS, today)
        assert switched.candidate.text == alone.candidate.text, name
        assert switched.confidence_logprob == pytest.approx(alone.confidence_logprob, abs=1e-3), name
    with pytest.raises(ValueError, match="unknown adapter"):
        both.decide(QUESTION, DISTRICTS, today, adapter_name="missing")


def test_config_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "run.yaml"
    FinetuneConfig(method="adapter", bottleneck_dim=32, max_steps=7).to_yaml(path)
    loaded = FinetuneConfig.from_yaml(path, max_steps=9, learning_rate=None)
    assert (loaded.method, loaded.bottleneck_dim, loaded.max_steps) == ("adapter", 32, 9)
    assert loaded.peak_learning_rate == 1e-3

    path.write_text("method: lora\nlora_rank: 8\n")
    with pytest.raises(FinetuneConfigError, match="lora_rank"):
        FinetuneConfig.from_yaml(path)
    path.write_text("method: lora\nlearning_rate: fast\n")
    with pytest.raises(FinetuneConfigError, match="learning_rate"):
        FinetuneConfig.from_yaml(path)
    path.write_text("method:\n  bad: [unclosed\n")
    with pytest.raises(FinetuneConfigError, match="not valid YAML"):
        FinetuneConfig.from_yaml(path)
    with pytest.raises(FinetuneConfigError, match="lm_head"):
        FinetuneConfig(target_modules=["q_proj", "lm_head"])
    with pytest.raises(FinetuneConfigError, match="method"):
        FinetuneConfig(method="qlora")


def test_cli_reports_a_bad_config_in_chinese(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("method: prefix\n")
    result = subprocess.run([sys.executable, "-m", "agent.cli", "finetune", "--config", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "训练配置有误" in result.stderr
    assert "Traceback" not in result.stderr


def test_interrupted_run_resumes_from_its_checkpoint(traces, tmp_path):
    """Kill a real training process after its first checkpoint, then finish it with --resume."""
    output = tmp_path / "run"
    command = [
        sys.executable, "-m", "agent.cli", "finetune", "--method", "lora", "--data", str(traces), "--output", str(output),
        "--max-steps", "6", "--batch-size", "2", "--max-train-samples", "4", "--save-steps", "2",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = output / "checkpoints" / "checkpoint-2"
    deadline = time.time() + 600
    while not (checkpoint / "trainer_state.json").is_file() and process.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.is_dir(), "the run never wrote its first checkpoint"
    assert not (output / "adapter_config.json").is_file()

    result = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((output / "train_summary.json").read_text())
    assert summary["steps"] == 6
    assert Path(summary["resumed_from"]).name.startswith("checkpoint-")
    assert int(Path(summary["resumed_from"]).name.split("-")[1]) >= 2
