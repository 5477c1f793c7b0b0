"""The local model's turn policy: from a conversation to one constrained decision.

``LocalPolicy`` owns the model, the tokenizer and the trie decoder. ``decide`` builds the
compact model view, collects the entities the conversation licenses, enumerates the candidate
outputs and lets the model pick one of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    """Map the CLI's adapter option to a folder: None/'default' is the shipped one, 'none' is no adapter."""
    if adapter in (None, "", "default"):
        if (SHIPPED_ADAPTER / "adapter_config.json").is_file():
            return str(SHIPPED_ADAPTER)
        log.warning("no shipped adapter at %s; running the base model alone", SHIPPED_ADAPTER)
        return None
    if adapter == "none":
        return None
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{path} is not a PEFT adapter folder (no adapter_config.json)")
    return str(path)


class LocalPolicy:
    """A base model plus optional LoRA adapter, decoding under the candidate grammar."""

    def __init__(self, base_model: str | None = None, adapter: str | None = "default", threads: int | None = None):
        import torch

        from agent.base_model import load_model, load_tokenizer

        if threads:
            torch.set_num_threads(threads)
        self.adapter_path = resolve_adapter(adapter)
        self.tokenizer = load_tokenizer(base_model)
        self.model = load_model(base_model, self.adapter_path)
        self.decoder = TrieDecoder(self.model, self.tokenizer)
        # The decoder keeps one KV cache; turns of concurrent sessions take turns.
        self._lock = threading.Lock()

    def prompt_ids(self, view: list[dict]) -> list[int]:
        encoded = self.tokenizer.apply_chat_template(view, tokenize=True, add_generation_prompt=True, return_dict=True)
        return list(encoded["input_ids"])

    def decide(
        self,
        messages: list[Any],
        known_districts: list[str],
        today: dt.date,
        tools: list[str] | None = None,
    ) -> Decision:
        """Choose the output for the newest user message in ``messages``."""
        started = time.perf_counter()
        view = model_view(messages)
        mentions = find_mentions(conversation_texts(view), known_districts, today, user_texts(view))
        current = find_mentions(user_texts(view)[-1:], known_districts, today)
        candidates = build_candidates(mentions, tools, current)
        with self._lock:
            prompt = self.prompt_ids(view)
            tokens = self.decoder.encode_candidates([candidate.text for candidate in candidates])
            fixed_replies = {index for index, candidate in enumerate(candidates) if candidate.tool is None}
            result = self.decoder.decode(prompt, tokens, whole=fixed_replies)
        return Decision(
            candidate=candidates[result.index],
            confidence_logprob=result.logprob,
            model_steps=result.model_steps,
            prompt_tokens=result.prompt_tokens,
            reused_tokens=result.reused_tokens,
            seconds=time.perf_counter() - started,
        )


_POLICIES: dict[tuple, LocalPolicy] = {}


def get_policy(base_model: str | None = None, adapter: str | None = "default") -> LocalPolicy:
    """Return a process-wide policy for (base model, adapter), loading it on first use."""
    key = (base_model, resolve_adapter(adapter))
    if key not in _POLICIES:
        _POLICIES[key] = LocalPolicy(base_model, adapter)
    return _POLICIES[key]
