"""Supervised fine-tuning of a LoRA adapter on tool-call traces with TRL's SFTTrainer and PEFT.

Loss is on assistant tokens only: the chat template marks assistant turns with
``{% generation %}`` and ``assistant_only_loss=True`` turns everything else into -100 labels.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """Everything that decides a training run; saved as ``finetune_config.json`` beside the adapter."""

    base_model: str | None = field(default=None, metadata={"help": "local model folder; None = embedded SmolLM2-135M"})
    data_dir: str = field(default="data/traces", metadata={"help": "folder with train.jsonl and test.jsonl"})
    output_dir: str = field(default="data/adapter", metadata={"help": "where the adapter is written"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA input"})
    # All linear layers of the decoder blocks; never lm_head (vLLM rejects LoRA there).
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "module names that get LoRA matrices"},
    )
    learning_rate: float = field(default=8e-4, metadata={"help": "peak learning rate"})
    warmup_steps: int = field(default=10, metadata={"help": "linear warm-up steps"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training split"})
    batch_size: int = field(default=8, metadata={"help": "samples per optimizer step"})
    max_length: int = field(default=384, metadata={"help": "tokens per sample; longer samples are truncated"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (-1: use epochs)"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N training samples"})
    seed: int = field(default=13, metadata={"help": "training seed"})
    logging_steps: int = field(default=5, metadata={"help": "log the loss every N optimizer steps"})
    threads: int | None = field(default=None, metadata={"help": "torch CPU threads; None = all cores"})


def _read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                rows.append({"messages": row["messages"]})
            if limit and len(rows) >= limit:
                break
    return rows


def _has_native_bf16() -> bool:
    """bf16 only where the hardware runs it natively: emulated on this kind of CPU it was ~9x slower."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return False


def train(config: FinetuneConfig) -> dict:
    """Train the adapter described by ``config``; return a summary with loss and throughput."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from agent.base_model import load_tokenizer, resolve_base_model

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    base_path = resolve_base_model(config.base_model)
    tokenizer = load_tokenizer(config.base_model)
    rows = _read_jsonl(Path(config.data_dir) / "train.jsonl", config.max_train_samples)
    dataset = Dataset.from_list(rows)

    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    bf16 = _has_native_bf16()
    sft_config = SFTConfig(
        output_dir=str(output / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=50,
        save_total_limit=1,
        report_to=[],
        bf16=bf16,
        fp16=False,
        gradient_checkpointing=False,
        max_length=config.max_length,
        assistant_only_loss=True,
        seed=config.seed,
        dataloader_num_workers=0,
        model_init_kwargs={"dtype": torch.bfloat16 if bf16 else torch.float32},
    )
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules,
        task_type="CAUSAL_LM",
    )

    tokens_seen = {"count": 0}

    class _TokenCounter(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log.info("step %d/%d loss %.4f", state.global_step, state.max_steps, logs["loss"])

    trainer = SFTTrainer(
        model=str(base_path),
        args=sft_config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[_TokenCounter()],
    )
    tokens_seen["count"] = int(sum(len(ids) for ids in trainer.train_dataset["input_ids"]))

    started = time.time()
    result = trainer.train(resume_from_checkpoint=_last_checkpoint(output / "checkpoints"))
    elapsed = time.time() - started

    trainer.model.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    # TRL logs the running count of tokens (padding excluded) that went through the model.
    trained_tokens = max((int(float(entry.get("num_tokens", 0))) for entry in trainer.state.log_history), default=0)
    summary = {
        "train_samples": len(rows),
        "train_tokens_per_epoch": tokens_seen["count"],
        "steps": trainer.state.global_step,
        "seconds": round(elapsed, 1),
        "tokens_trained": trained_tokens,
        "tokens_per_second": round(trained_tokens / elapsed, 1) if elapsed and trained_tokens else None,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss,
        "bf16": bf16,
    }
    with open(output / "finetune_config.json", "w", encoding="utf-8") as handle:
        json.dump(asdict(config), handle, ensure_ascii=False, indent=2)
    with open(output / "train_summary.json", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=2)
    return summary


def _last_checkpoint(folder: Path) -> str | None:
    """Return the newest ``checkpoint-N`` folder in ``folder`` so an interrupted run resumes."""
    if not folder.is_dir():
        return None
    checkpoints = sorted(folder.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[-1]))
    return str(checkpoints[-1]) if checkpoints else None
