"""Bottleneck adapters (Houlsby et al., 2019) for decoder-only transformers.

Each decoder layer gets two small modules: one on the output of the attention block and one on
the output of the feed-forward block, both before the residual addition. A module maps the hidden
state ``h`` (shape ``[batch, seq, hidden]``) to ``h + up(act(down(h)))`` with ``down: hidden ->
bottleneck_dim`` and ``up: bottleneck_dim -> hidden``. ``up`` starts at zero, so a freshly added
adapter leaves the model's output unchanged; only the adapter weights train, the base is frozen.

No maintained library offers these for current transformers (AdapterHub's ``adapters`` pins old
releases), so they are written here: new child modules on each layer plus forward hooks on its
``self_attn`` and ``mlp``. The base model's own weights and their names are untouched, and the
saved artefact holds only the adapter weights and this config.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

CONFIG_NAME = "bottleneck_config.json"
WEIGHTS_NAME = "bottleneck.safetensors"
_ATTN = "bottleneck_attn"
_MLP = "bottleneck_mlp"


@dataclass
class BottleneckConfig:
    """Shape and placement of the adapters; saved as ``bottleneck_config.json``."""

    bottleneck_dim: int = field(default=64, metadata={"help": "width of the down-projection"})
    non_linearity: str = field(default="gelu", metadata={"help": "activation between the projections: gelu, relu or silu"})
    after_attention: bool = field(default=True, metadata={"help": "add a module after each attention block"})
    after_feed_forward: bool = field(default=True, metadata={"help": "add a module after each feed-forward block"})
    base_model: str | None = field(default=None, metadata={"help": "base model the adapter was trained on (informational)"})


_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}


class BottleneckAdapter(nn.Module):
    """``h -> h + up(act(down(h)))``, identity while ``up`` is zero or the module is disabled."""

    def __init__(self, hidden_size: int, bottleneck_dim: int, non_linearity: str = "gelu"):
        super().__init__()
        if non_linearity not in _ACTIVATIONS:
            raise ValueError(f"unknown non_linearity {non_linearity!r}; choose one of {sorted(_ACTIVATIONS)}")
        self.down = nn.Linear(hidden_size, bottleneck_dim)
        self.act = _ACTIVATIONS[non_linearity]()
        self.up = nn.Linear(bottleneck_dim, hidden_size)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)
        self.enabled = True

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return hidden
        return hidden + self.up(self.act(self.down(hidden)))


def decoder_layers(model: nn.Module) -> list[nn.Module]:
    """Return the modules that own both a ``self_attn`` and an ``mlp`` child (Llama, Qwen2, Mistral...)."""
    layers = [module for module in model.modules() if isinstance(getattr(module, "self_attn", None), nn.Module) and isinstance(getattr(module, "mlp", None), nn.Module)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no decoder layers with self_attn and mlp children")
    return layers


def _attention_hook(adapter: BottleneckAdapter):
    # Attention blocks return (attn_output, attn_weights); only the output passes the adapter.
    def hook(_module, _inputs, output):
        if isinstance(output, tuple):
            return (adapter(output[0]),) + output[1:]
        return adapter(output)

    return hook


def _feed_forward_hook(adapter: BottleneckAdapter):
    def hook(_module, _inputs, output):
        return adapter(output)

    return hook


def add_bottleneck_adapters(model: nn.Module, config: BottleneckConfig) -> list[BottleneckAdapter]:
    """Insert adapters into every decoder layer of ``model``, freeze everything else, return the adapters."""
    hidden = model.config.hidden_size
    dtype = next(model.parameters()).dtype
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    adapters = []
    for layer in decoder_layers(model):
        if config.after_attention:
            adapter = BottleneckAdapter(hidden, config.bottleneck_dim, config.non_linearity).to(dtype)
            layer.add_module(_ATTN, adapter)
            layer.self_attn.register_forward_hook(_attention_hook(adapter))
            adapters.append(adapter)
        if config.after_feed_forward:
            adapter = BottleneckAdapter(hidden, config.bottleneck_dim, config.non_linearity).to(dtype)
            layer.add_module(_MLP, adapter)
            layer.mlp.register_forward_hook(_feed_forward_hook(adapter))
            adapters.append(adapter)
    model.dr_agent_bottleneck = config
    return adapters


def set_bottleneck_enabled(model: nn.Module, enabled: bool) -> None:
    """Switch every bottleneck adapter of ``model`` on or off (off = the base model's output)."""
    for module in model.modules():
        if isinstance(module, BottleneckAdapter):
            module.enabled = enabled


def bottleneck_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Return the adapter weights only, under the names they have inside ``model``."""
    return {name: tensor.detach().contiguous() for name, tensor in model.state_dict().items() if f".{_ATTN}." in name or f".{_MLP}." in name}


def save_bottleneck(model: nn.Module, folder: Path | str, config: BottleneckConfig) -> None:
    """Write ``bottleneck_config.json`` and ``bottleneck.safetensors`` (adapter weights only) to ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(bottleneck_state_dict(model), str(folder / WEIGHTS_NAME))
    (folder / CONFIG_NAME).write_text(json.dumps(asdict(config), ensure_ascii=False, indent=2), encoding="utf-8")


def is_bottleneck_folder(folder: Path | str) -> bool:
    return (Path(folder) / CONFIG_NAME).is_file() and (Path(folder) / WEIGHTS_NAME).is_file()


def load_bottleneck(model: nn.Module, folder: Path | str) -> BottleneckConfig:
    """Insert the adapters saved in ``folder`` into ``model`` and load their weights."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config = BottleneckConfig(**json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8")))
    add_bottleneck_adapters(model, config)
    weights = load_file(str(folder / WEIGHTS_NAME))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    expected = set(bottleneck_state_dict(model))
    absent = expected - set(weights)
    if absent or unexpected:
        raise ValueError(f"{folder}: adapter weights do not fit this model (missing {sorted(absent)[:3]}, unexpected {list(unexpected)[:3]})")
    return config
