"""Constrained decoding over a finite set of candidate outputs.

The candidates (every admissible tool call and fixed reply, see ``agent.candidates``) are
tokenised whole, exactly as training tokenised them, and put in a token trie. Decoding walks
the trie greedily: where a node has one child the token is forced and no logits are needed, so
runs of forced tokens (JSON keys, the rest of a tool name) go through the model in one forward
pass (jump-forward decoding). Only branching nodes cost a model step, typically a handful per
turn. The KV cache of the longest common prefix with the previous call (system prompt and
earlier turns) is reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class _Node:
    children: dict[int, "_Node"] = field(default_factory=dict)
    candidate_index: int | None = None


def build_trie(token_lists: list[list[int]]) -> _Node:
    root = _Node()
    for index, tokens in enumerate(token_lists):
        node = root
        for token in tokens:
            node = node.children.setdefault(token, _Node())
        node.candidate_index = index
    return root


@dataclass
class DecodeResult:
    index: int  # index of the chosen candidate
    logprob: float  # sum of log-probabilities at the branching steps
    model_steps: int  # forward passes made for this result
    prompt_tokens: int
    reused_tokens: int


class TrieDecoder:
    """Greedy trie decoding with prefix KV-cache reuse for one causal LM."""

    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer
        self._cached_ids: list[int] = []
        self._cache = None
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.end_token_id = end if isinstance(end, int) and end >= 0 else tokenizer.eos_token_id

    def encode_candidates(self, texts: list[str]) -> list[list[int]]:
        encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [list(tokens) + [self.end_token_id] for tokens in encoded]

    @torch.inference_mode()
    def _forward(self, new_ids: list[int]) -> torch.Tensor:
        """Feed ``new_ids`` after the cached ones and return the logits of the last position."""
        input_ids = torch.tensor([new_ids], dtype=torch.long)
        output = self.model(input_ids=input_ids, cache=self._cache, use_cache=True)
        self._cache = output.cache
        self._cached_ids.extend(new_ids)
        return output.logits[0, -1]

    def _reuse_prefix(self, prompt_ids: list[int]) -> int:
        """Crop the cache to the longest common prefix with ``prompt_ids``; return its length."""
        common = 0
        limit = min(len(prompt_ids), len(self._cached_ids))
        while common < limit and prompt_ids[common] == self._cached_ids[common]:
            common += 1
        # Keep at least one prompt token to feed, so that the logits of the last position exist.
        common = min(common, len(prompt_ids) - 1)
        if self._cache is None or common == 0:
            self._cache = None
            self._cached_ids = []
            return 0
        surplus = len(self._cached_ids) - common
        if surplus:
            # transformers 5 takes the number of tokens to drop, as a negative count.
            self._cache.crop(-surplus)
        self._cached_ids = self._cached_ids[:common]
        return common

    def decode(self, prompt_ids: list[int], candidate_tokens: list[list[int]]) -> DecodeResult:
        if not candidate_tokens:
            raise ValueError("decode needs at least one candidate")
        trie = build_trie(candidate_tokens)
        reused = self._reuse_prefix(prompt_ids)
        pending = list(prompt_ids[reused:])
        node = trie
        logprob = 0.0
        steps = 0

        while node.candidate_index is None or node.children:
            if len(node.children) == 1:
                token, node = next(iter(node.children.items()))
                pending.append(token)
                continue

            logits = self._forward(pending)
            steps += 1
            pending = []
            allowed = list(node.children)
            scores = torch.log_softmax(logits.float(), dim=-1)[allowed]
            best = int(torch.argmax(scores))
            logprob += float(scores[best])
            token = allowed[best]
            pending.append(token)
            node = node.children[token]

        # The chosen tokens stay pending: they are fed at the start of the next call only if
        # that call's prompt begins with them, so the cache never holds unconfirmed tokens.
        return DecodeResult(
            index=node.candidate_index,
            logprob=logprob if steps else 0.0,
            model_steps=steps,
            prompt_tokens=len(prompt_ids),
            reused_tokens=reused,
        )


def confidence(result: DecodeResult) -> float:
    """Return the probability the model gave the chosen path at its branching steps."""
    return math.exp(result.logprob)
