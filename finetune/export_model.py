"""Export a training artefact for serving elsewhere.

``export_merged`` writes one safetensors model folder: a LoRA adapter is merged into the base
weights, a full fine-tuned model is re-saved as is. The folder carries the tokenizer with the
project's tool-calling template, so vLLM, llama.cpp's converter or ``--base-model`` load it
directly. A bottleneck adapter has a non-linearity between its projections, so it cannot be
folded into the base weights; it is rejected with a clear error.

The unmerged LoRA folder stays servable by vLLM (``--enable-lora --lora-modules NAME=PATH``):
``check_vllm_lora`` lists what vLLM would reject in it.
"""

from __future__ import annotations

import json
from pathlib import Path


class ExportError(ValueError):
    """Raised when an artefact cannot be exported in the requested form."""


def check_vllm_lora(folder: Path | str) -> list[str]:
    """Return the reasons vLLM's LoRA loader would reject the adapter in ``folder`` (empty when none)."""
    config = json.loads((Path(folder) / "adapter_config.json").read_text(encoding="utf-8"))
    problems = []
    if config.get("use_dora"):
        problems.append("DoRA adapters are not supported by vLLM")
    targets = config.get("target_modules") or []
    if isinstance(targets, str):
        targets = [targets]
    if any(name in ("lm_head", "embed_tokens") for name in targets):
        problems.append("LoRA on lm_head or embed_tokens is rejected by vLLM")
    if config.get("modules_to_save"):
        problems.append("modules_to_save weights are not loaded by vLLM")
    if config.get("peft_type") != "LORA":
        problems.append(f"peft_type is {config.get('peft_type')!r}, not LORA")
    return problems


def export_merged(artefact: Path | str, out: Path | str, base_model: str | None = None) -> dict:
    """Write a merged safetensors model for ``artefact`` into ``out``; return a small summary."""
    from agent.base_model import artefact_kind, load_model, load_tokenizer

    artefact, out = Path(artefact), Path(out)
    kind = artefact_kind(artefact)
    if kind == "adapter":
        raise ExportError("bottleneck adapters cannot be merged: a non-linearity sits between their projections")
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty")
    model = load_model(base_model, str(artefact), merge=True)
    tokenizer = load_tokenizer(base_model)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    summary = {"source": str(artefact), "kind": kind, "parameters": sum(p.numel() for p in model.parameters())}
    (partial / "dr_agent_export.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return summary
