"""The local model's turn policy: from a conversation to one constrained decision.

``LocalPolicy`` owns the model, the tokenizer and the trie decoder. ``decide`` builds the
compact model view, collects the entities the conversation licenses, enumerates the candidate
outputs and lets the model pick one of them.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from agent.candidates import Candidate, build_candidates, find_mentions
from agent.context import conversation_texts, model_view, user_texts
from agent.decoding import TrieDecoder

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_ADAPTER = REPO_ROOT / "data" / "adapter"


@dataclass
class Decision:
    """Model choice for one turn, with timing for the benchmarks."""

    candidate: Candidate
    confidence_logprob: float
    model_steps: int
    prompt_tokens: int
    reused_tokens: int
    seconds: float


def resolve_adapter(adapter: str | None) -> str | None:
    """Map the CLI's adapter option to a folder: None/'default' is the shipped one, 'none' is no adapter.

    Any training artefact folder is accepted: LoRA, bottleneck adapter or full model.
    """
    from agent.base_model import artefact_kind

    if adapter in (None, "", "default"):
        if (SHIPPED_ADAPTER / "adapter_config.json").is_file():
            return str(SHIPPED_ADAPTER)
        log.warning("no shipped adapter at %s; running the base model alone", SHIPPED_ADAPTER)
        return None
    if adapter == "none":
        return None
    path = Path(adapter).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(path))
    artefact_kind(path)
    return str(path)


class LocalPolicy:
    """A base model plus optional LoRA adapter, decoding under the candidate grammar."""

    def __init__(
        self,
        base_model: str | None = None,
        adapter: str | None = "default",
        threads: int | None = None,
        adapters: dict[str, str] | None = None,
    ):
        """Load the model; ``adapters`` (name -> LoRA folder) loads several for switching per request.

        With ``adapters`` the first name is active until ``decide(..., adapter_name=...)`` picks
        another; the name "base" runs the base model with every adapter off.
        """
        import torch

        from agent.base_model import load_model, load_switchable_lora, load_tokenizer

        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = load_tokenizer(base_model)
        self.adapter_names: list[str] = []
        if adapters:
            if "base" in adapters:
                raise ValueError('"base" is reserved for the base model without adapters')
            folders = {name: resolve_adapter(folder) for name, folder in adapters.items()}
            self.adapter_path = next(iter(folders.values()))
            self.adapter_names = list(folders)
            self.model = load_switchable_lora(base_model, folders)
        else:
            self.adapter_path = resolve_adapter(adapter)
            self.model = load_model(base_model, self.adapter_path)
            if hasattr(self.model, "dr_agent_bottleneck"):
                # Bottleneck adapters switch off without a reload: "base" runs the model without them.
                self.adapter_names = ["adapter"]
        self._active_adapter = self.adapter_names[0] if self.adapter_names else None
        self.decoder = TrieDecoder(self.model, self.tokenizer)
        # The decoder keeps one KV cache; turns of concurrent sessions take turns.
        self._lock = threading.Lock()
        # 0 decodes greedily; ``sampling`` sets both for the duration of an evaluation run.
        self.temperature = 0.0
        self.generator: torch.Generator | None = None

    def prompt_ids(self, view: list[dict]) -> list[int]:
        encoded = self.tokenizer.apply_chat_template(view, tokenize=True, add_generation_prompt=True, return_dict=True)
        return list(encoded["input_ids"])

    def decide(
        self,
        messages: list[Any],
        known_districts: list[str],
        today: dt.date,
        tools: list[str] | None = None,
        adapter_name: str | None = None,
    ) -> Decision:
        """Choose the output for the newest user message in ``messages``."""
        started = time.perf_counter()
        view = model_view(messages)
        mentions = find_mentions(conversation_texts(view), known_districts, today, user_texts(view))
        current = find_mentions(user_texts(view)[-1:], known_districts, today)
        candidates = build_candidates(mentions, tools, current)
        with self._lock:
            if adapter_name is not None:
                self._activate(adapter_name)
            prompt = self.prompt_ids(view)
            tokens = self.decoder.encode_candidates([candidate.text for candidate in candidates])
            fixed_replies = {index for index, candidate in enumerate(candidates) if candidate.tool is None}
            result = self.decoder.decode(prompt, tokens, whole=fixed_replies, temperature=self.temperature, generator=self.generator)
        return Decision(
            candidate=candidates[result.index],
            confidence_logprob=result.logprob,
            model_steps=result.model_steps,
            prompt_tokens=result.prompt_tokens,
            reused_tokens=result.reused_tokens,
            seconds=time.perf_counter() - started,
        )

    def _activate(self, name: str) -> None:
        """Make the named adapter (or "base") the one that decides; the caller holds the lock."""
        if name == self._active_adapter:
            return
        if name != "base" and name not in self.adapter_names:
            known = ", ".join(["base", *self.adapter_names]) if self.adapter_names else "none (one model loaded)"
            raise ValueError(f"unknown adapter {name!r}; loaded: {known}")
        if hasattr(self.model, "dr_agent_bottleneck"):
            from agent.bottleneck import set_bottleneck_enabled

            set_bottleneck_enabled(self.model, name != "base")
        elif name == "base":
            self.model.base_model.disable_adapter_layers()
        else:
            self.model.base_model.enable_adapter_layers()
            self.model.set_adapter(name)
        # The cached keys and values were computed with other weights.
        self.decoder.reset()
        self._active_adapter = name

    @contextmanager
    def sampling(self, temperature: float, seed: int) -> Iterator[None]:
        """Sample every decision inside the block at ``temperature`` from a generator seeded with ``seed``.

        The policy decodes greedily again after the block. The setting covers every caller of
        this policy, so use it only where one conversation runs at a time (evaluation).
        """
        import torch

        if temperature <= 0:
            raise ValueError(f"sampling needs a temperature above 0, got {temperature}")
        generator = torch.Generator()
        generator.manual_seed(seed)
        self.temperature, self.generator = temperature, generator
        try:
            yield
        finally:
            self.temperature, self.generator = 0.0, None


_POLICIES: dict[tuple, LocalPolicy] = {}


def get_policy(base_model: str | None = None, adapter: str | None = "default") -> LocalPolicy:
    """Return a process-wide policy for (base model, adapter), loading it on first use."""
    key = (base_model, resolve_adapter(adapter))
    if key not in _POLICIES:
        _POLICIES[key] = LocalPolicy(base_model, adapter)
    return _POLICIES[key]
