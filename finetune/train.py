"""Supervised fine-tuning on tool-call traces with TRL's SFTTrainer: LoRA, full-parameter or adapter.

- ``lora``: PEFT LoRA matrices on the decoder's linear layers (never ``lm_head``, no DoRA, so
  vLLM's ``--enable-lora`` can serve the result).
- ``full``: every parameter trains; the artefact is a whole model folder.
- ``adapter``: bottleneck adapters (``agent/bottleneck.py``) after each attention and
  feed-forward block, base frozen; the artefact holds only the adapter weights.

Loss is on assistant tokens only: the chat template marks assistant turns with
``{% generation %}``, and ``assistant_only_loss=True`` turns everything else (system prompt,
dispatcher turns, tool results, context-only replies) into -100 labels.

With ``packing`` the samples of a step are packed into one padding-free row. The position ids
restart at every sample, and transformers builds a block-diagonal attention mask from them, so
no sample attends to another (``tests/test_training_packing.py`` checks this).
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

log = logging.getLogger(__name__)

METHODS = ("lora", "full", "adapter")
# Peak learning rates that worked on this data; a full-parameter run needs a far smaller one.
DEFAULT_LEARNING_RATE = {"lora": 8e-4, "full": 1e-4, "adapter": 1e-3}
CONFIG_FILE = "finetune_config.yaml"
ARTEFACT_FILE = "dr_agent_artefact.json"


class FinetuneConfigError(ValueError):
    """Raised when a config file or option has an unknown key or a value out of range."""


@dataclass
class FinetuneConfig:
    """Everything that decides a training run; saved as ``finetune_config.yaml`` beside the artefact."""

    method: str = field(default="lora", metadata={"help": "lora, full or adapter (bottleneck adapters)"})
    base_model: str | None = field(default=None, metadata={"help": "local model folder; None = embedded SmolLM2-135M"})
    data_dir: str = field(default="data/traces", metadata={"help": "folder with train.jsonl and test.jsonl"})
    output_dir: str = field(default="data/adapter", metadata={"help": "where the artefact is written"})
    # LoRA
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA input"})
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "module names that get LoRA matrices (lm_head is rejected: vLLM cannot serve it)"},
    )
    # Bottleneck adapters
    bottleneck_dim: int = field(default=64, metadata={"help": "adapter down-projection width"})
    non_linearity: str = field(default="gelu", metadata={"help": "adapter activation: gelu, relu or silu"})
    # Optimisation
    learning_rate: float | None = field(default=None, metadata={"help": "peak learning rate; None = per-method default"})
    warmup_steps: int = field(default=10, metadata={"help": "linear warm-up steps"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the training split"})
    batch_size: int = field(default=8, metadata={"help": "samples per optimizer step (packed into one row with packing)"})
    max_length: int = field(default=384, metadata={"help": "tokens per sample; longer samples are truncated"})
    packing: bool = field(default=True, metadata={"help": "pack a step's samples into one padding-free row"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many steps (-1: use epochs)"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N training samples"})
    save_steps: int = field(default=25, metadata={"help": "write a resumable checkpoint every N steps"})
    seed: int = field(default=13, metadata={"help": "training seed"})
    logging_steps: int = field(default=5, metadata={"help": "log the loss every N optimizer steps"})
    threads: int | None = field(default=None, metadata={"help": "torch CPU threads; None = all cores"})
    cpu_bf16_autocast: bool = field(
        default=True, metadata={"help": "on a CPU, run matrix products in bf16 autocast over fp32 weights (faster; weights stay fp32)"}
    )

    def __post_init__(self) -> None:
        for item in fields(self):
            _check_type(item.name, item.type, getattr(self, item.name))
        if self.method not in METHODS:
            raise FinetuneConfigError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if "lm_head" in self.target_modules:
            raise FinetuneConfigError("lm_head cannot be a LoRA target: vLLM rejects such adapters")
        for name in ("lora_r", "bottleneck_dim", "batch_size", "max_length", "save_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise FinetuneConfigError(f"{name} must be at least 1")

    @property
    def peak_learning_rate(self) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LEARNING_RATE[self.method]

    @classmethod
    def from_yaml(cls, path: Path | str, **overrides) -> "FinetuneConfig":
        """Read a config file; keyword overrides (CLI options that were given) win over the file."""
        import yaml

        try:
            values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise FinetuneConfigError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(values, dict):
            raise FinetuneConfigError(f"{path}: expected a mapping of option names to values")
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FinetuneConfigError(f"{path}: unknown option(s) {', '.join(unknown)}")
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def to_yaml(self, path: Path | str) -> None:
        import yaml

        Path(path).write_text(yaml.safe_dump(asdict(self), allow_unicode=True, sort_keys=False), encoding="utf-8")


_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list[str]": (list,), "None": (type(None),)}


def _check_type(name: str, annotation: str, value) -> None:
    """Raise FinetuneConfigError when ``value`` does not fit the field's annotation, e.g. "float | None"."""
    allowed = tuple(kind for part in annotation.split("|") for kind in _TYPES[part.strip()])
    # bool is a subclass of int, but "epochs: true" is a mistake, not 1 epoch.
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()
    if not isinstance(value, allowed):
        raise FinetuneConfigError(f"{name} must be {annotation}, not {value!r}")
    if annotation == "list[str]" and not all(isinstance(entry, str) for entry in value):
        raise FinetuneConfigError(f"{name} must be a list of names, not {value!r}")


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


def training_dataset(rows: list[dict], tokenizer):
    """Build the ``datasets.Dataset`` of ``rows`` in the form the tokenizer's chat template reads.

    The traces store tool-call arguments as JSON strings, which the project's template writes
    unchanged. A model's own tool-aware template (Qwen2.5 writes ``arguments | tojson``) needs
    objects, or the arguments come out as a quoted string. Arrow would merge the argument objects
    of different tools into one struct with null-filled keys, so the messages are stored with the
    ``Json`` feature (datasets 4.7 or newer).
    """
    from datasets import Dataset, Features, Json, List

    from agent.template import CHAT_TEMPLATE

    if tokenizer.chat_template == CHAT_TEMPLATE:
        return Dataset.from_list(rows)
    # NOTE: such a template ignores the messages' "weight" key, so the context-only replies of
    # follow-up traces get loss as well.
    rows = copy.deepcopy(rows)
    for row in rows:
        for message in row["messages"]:
            for call in message.get("tool_calls") or []:
                if isinstance(call["function"]["arguments"], str):
                    call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return Dataset.from_list(rows, features=Features({"messages": List(Json())}))


def _has_native_bf16() -> bool:
    """Return True where bf16 weights are native (GPUs); bf16 weights on this CPU made a step ~9x slower."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return False


def sft_config(config: FinetuneConfig, checkpoints: Path, bf16: bool):
    """Return the TRL ``SFTConfig`` for ``config``; ``bf16`` means native bf16 weights (GPUs)."""
    import torch
    from trl import SFTConfig

    # On a CPU, bf16 autocast keeps fp32 weights and runs the matrix products in bf16.
    autocast = not bf16 and config.cpu_bf16_autocast and not torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.peak_learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=1,
        report_to=[],
        bf16=bf16 or autocast,
        use_cpu=autocast,
        fp16=False,
        gradient_checkpointing=False,
        # Padding-free rows are not truncated by TRL; train() drops over-long samples itself.
        max_length=None if config.packing else config.max_length,
        # Padding-free: the batch's samples become one row with restarting position ids.
        padding_free=config.packing,
        assistant_only_loss=True,
        seed=config.seed,
        dataloader_num_workers=0,
        model_init_kwargs={"dtype": torch.bfloat16 if bf16 else torch.float32},
    )


def _build_model(config: FinetuneConfig, base_path: Path, bf16: bool):
    """Return (model or model path, PEFT config or None) for the method."""
    if config.method == "lora":
        from peft import LoraConfig

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.target_modules,
            use_dora=False,
            task_type="CAUSAL_LM",
        )
        return str(base_path), lora
    if config.method == "full":
        return str(base_path), None

    import torch
    from transformers import AutoModelForCausalLM

    from agent.bottleneck import BottleneckConfig, add_bottleneck_adapters

    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.bfloat16 if bf16 else torch.float32)
    add_bottleneck_adapters(
        model, BottleneckConfig(bottleneck_dim=config.bottleneck_dim, non_linearity=config.non_linearity, base_model=config.base_model)
    )
    return model, None


def _save_artefact(config: FinetuneConfig, trainer, tokenizer, output: Path) -> None:
    model = trainer.model
    if config.method == "adapter":
        from agent.bottleneck import save_bottleneck

        # NOTE: this reads the parameters directly, so under ZeRO-3 or FSDP it would save shards;
        # train bottleneck adapters without parameter sharding.
        save_bottleneck(model, output, model.dr_agent_bottleneck)
    else:
        # Unlike model.save_pretrained, Trainer.save_model gathers ZeRO-3 and FSDP shards into
        # a full state dict, and only the main process writes.
        trainer.save_model(str(output))
    if not trainer.is_world_process_zero():
        return
    tokenizer.save_pretrained(str(output))
    artefact = {"method": config.method, "base_model": config.base_model}
    (output / ARTEFACT_FILE).write_text(json.dumps(artefact, ensure_ascii=False, indent=2), encoding="utf-8")
    config.to_yaml(output / CONFIG_FILE)


def train(config: FinetuneConfig, resume: bool = False) -> dict:
    """Train the artefact described by ``config``; return a summary with loss and throughput.

    With ``resume`` the run continues from the newest checkpoint in ``OUTPUT/checkpoints``;
    without it an old checkpoint folder is cleared so that runs never mix.
    """
    import torch
    from transformers import TrainerCallback
    from trl import SFTTrainer

    from agent.base_model import load_tokenizer, resolve_base_model

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)

    base_path = resolve_base_model(config.base_model)
    tokenizer = load_tokenizer(config.base_model)
    rows = _read_jsonl(Path(config.data_dir) / "train.jsonl", config.max_train_samples)
    dataset = training_dataset(rows, tokenizer)

    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    checkpoints = output / "checkpoints"
    resume_from = _last_checkpoint(checkpoints) if resume else None
    if resume and resume_from is None:
        log.warning("no checkpoint in %s; starting from the beginning", checkpoints)
    if not resume and checkpoints.exists():
        # Every process of a distributed launch runs this, and another may have removed the folder already.
        shutil.rmtree(checkpoints, ignore_errors=True)
    config.to_yaml(output / CONFIG_FILE)

    bf16 = _has_native_bf16()
    model, peft_config = _build_model(config, base_path, bf16)

    class _LossLog(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log.info("step %d/%d loss %.4f", state.global_step, state.max_steps, logs["loss"])

    trainer = SFTTrainer(
        model=model,
        args=sft_config(config, checkpoints, bf16),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_LossLog()],
    )
    if config.packing:
        before = len(trainer.train_dataset)
        trainer.train_dataset = trainer.train_dataset.filter(lambda row: len(row["input_ids"]) <= config.max_length)
        if len(trainer.train_dataset) < before:
            log.warning("dropped %d samples longer than %d tokens", before - len(trainer.train_dataset), config.max_length)
    trainable = sum(parameter.numel() for parameter in trainer.model.parameters() if parameter.requires_grad)
    total = sum(parameter.numel() for parameter in trainer.model.parameters())
    tokens_per_epoch = int(sum(len(ids) for ids in trainer.train_dataset["input_ids"]))

    started = time.time()
    result = trainer.train(resume_from_checkpoint=resume_from)
    elapsed = time.time() - started
    _save_artefact(config, trainer, tokenizer, output)
    # A finished run needs no resume point; a full-parameter checkpoint with optimizer state is ~1.6 GB.
    shutil.rmtree(checkpoints, ignore_errors=True)

    if bf16:
        precision = "bf16"
    elif trainer.args.bf16:
        precision = "fp32 weights, bf16 autocast"
    else:
        precision = "fp32"
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    # TRL logs the running count of tokens (padding excluded) that went through the model.
    trained_tokens = max((int(float(entry.get("num_tokens", 0))) for entry in trainer.state.log_history), default=0)
    summary = {
        "method": config.method,
        "train_samples": len(rows),
        "train_tokens_per_epoch": tokens_per_epoch,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "steps": trainer.state.global_step,
        "resumed_from": resume_from,
        "seconds": round(elapsed, 1),
        "tokens_trained": trained_tokens,
        "tokens_per_second": round(trained_tokens / elapsed, 1) if elapsed and trained_tokens else None,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss,
        "precision": precision,
        "packing": config.packing,
        "learning_rate": config.peak_learning_rate,
    }
    with open(output / "train_summary.json", "w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=2)
    return summary


def _last_checkpoint(folder: Path) -> str | None:
    """Return the newest ``checkpoint-N`` folder in ``folder``."""
    if not folder.is_dir():
        return None
    checkpoints = sorted(folder.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[-1]))
    return str(checkpoints[-1]) if checkpoints else None
