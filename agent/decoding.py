"""Constrained decoding over a finite set of candidate outputs.

The candidates (every admissible tool call and fixed reply, see ``agent.candidates``) are
tokenised whole, exactly as training tokenised them, and put in a token trie. Decoding walks
the trie: where a node has one child the token is forced and no logits are needed, so
runs of forced tokens (JSON keys, the rest of a tool name) go through the model in one forward
pass (jump-forward decoding). Only branching nodes cost a model step, typically a handful per
turn. The KV cache of the longest common prefix with the previous call (system prompt and
earlier turns) is reused.

A branching node takes its most probable child by default. With a temperature above 0 it
samples among the admissible children instead, so that repeated runs of one task can differ
(the pass^k evaluation).
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
    """Greedy or sampled trie decoding with prefix KV-cache reuse for one causal LM."""

    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer
        self._cached_ids: list[int] = []
        self._cache = None
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.end_token_id = end if isinstance(end, int) and end >= 0 else tokenizer.eos_token_id

    def reset(self) -> None:
        """Forget the cached prefix (its keys and values are stale once the weights change)."""
        self._cache = None
        self._cached_ids = []

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

    def _first_branch(self, node, logprobs, candidate_tokens, whole):
        return _first_branch_impl(self, node, logprobs, candidate_tokens, whole)

    @torch.inference_mode()
    def _sequence_logprob(self, first_logprobs: torch.Tensor, tokens: list[int]) -> float:
        """Return log P(tokens) after the cached prefix; the cache is restored afterwards."""
        total = float(first_logprobs[tokens[0]])
        if len(tokens) > 1:
            length = len(self._cached_ids)
            output = self.model(input_ids=torch.tensor([tokens[:-1]]), cache=self._cache, use_cache=True)
            logprobs = torch.log_softmax(output.logits[0].float(), dim=-1)
            total += float(logprobs[torch.arange(len(tokens) - 1), torch.tensor(tokens[1:])].sum())
            self._cache = output.cache
            self._cache.crop(-(len(tokens) - 1))
            assert self._cache.get_seq_length() == length
        return total

    def decode(
        self,
        prompt_ids: list[int],
        candidate_tokens: list[list[int]],
        whole: set[int] | None = None,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> DecodeResult:
        """Choose a candidate along the trie, greedily or by sampling.

        Candidates in ``whole`` (short fixed replies) are scored as complete sequences at the
        first branching, because their first tokens are shared ("请问…", "请提供…"): a prefix
        would carry the probability of replies that are not admissible in this turn.

        At ``temperature`` 0 (the default) every branching takes the most probable child. Above
        0 it draws a child with probability proportional to exp(logprob / temperature), the
        log-probabilities renormalised over the admissible children only, using ``generator``
        (a CPU ``torch.Generator``; None uses torch's global generator).
        """
        if temperature < 0:
            raise ValueError(f"temperature must be 0 or more, got {temperature}")
        if not candidate_tokens:
            raise ValueError("decode needs at least one candidate")
        trie = build_trie(candidate_tokens)
        reused = self._reuse_prefix(prompt_ids)
        pending = list(prompt_ids[reused:])
        node = trie
        logprob = 0.0
        steps = 0
        whole = whole or set()

        while node.candidate_index is None or node.children:
            if len(node.children) == 1:
                token, node = next(iter(node.children.items()))
                pending.append(token)
                continue

            logits = self._forward(pending)
            steps += 1
            pending = []
            allowed = list(node.children)
            all_logprobs = torch.log_softmax(logits.float(), dim=-1)
            scores = all_logprobs[allowed]
            if steps == 1 and whole:
                if temperature > 0:
                    chosen = _sample_first_branch(self, node, all_logprobs, candidate_tokens, whole, temperature, generator)
                else:
                    chosen = self._first_branch(node, all_logprobs, candidate_tokens, whole)
                if chosen is not None:
                    index, sequence_logprob = chosen
                    return DecodeResult(index, sequence_logprob, steps, len(prompt_ids), reused)
                allowed = list(node.children)
                scores = all_logprobs[allowed]
            if temperature > 0:
                best = sample_index(scores, temperature, generator)
            else:
                best = int(torch.argmax(scores))
            logprob += float(scores[best])
            token = allowed[best]
            pending.append(token)
            node = node.children[token]

        # The chosen tokens stay pending: they are fed at the start of the next call only if
        # that call's prompt begins with them, so the cache never contains unconfirmed tokens.
        return DecodeResult(
            index=node.candidate_index,
            logprob=logprob if steps else 0.0,
            model_steps=steps,
            prompt_tokens=len(prompt_ids),
            reused_tokens=reused,
        )


def _leaves(node: _Node) -> list[int]:
    found = [node.candidate_index] if node.candidate_index is not None else []
    for child in node.children.values():
        found.extend(_leaves(child))
    return found


# First tokens less likely than this are not worth scoring as whole sequences.
_MIN_FIRST_TOKEN_LOGPROB = math.log(0.01)


def _first_branch_options(
    decoder: "TrieDecoder", node: _Node, logprobs: torch.Tensor, candidate_tokens: list[list[int]], whole: set[int]
) -> list[tuple[int | None, int | None, float]]:
    """Return the options at the first branching as (fixed reply, branch token, score).

    A branch of fixed replies alone gives one option per reply, scored on its whole sequence, and
    is skipped when its first token is unlikely. Any other branch gives one option scored on its
    first token.
    """
    options: list[tuple[int | None, int | None, float]] = []
    for token, child in node.children.items():
        leaves = _leaves(child)
        first = float(logprobs[token])
        if all(leaf in whole for leaf in leaves):
            if first < _MIN_FIRST_TOKEN_LOGPROB:
                continue
            for leaf in leaves:
                options.append((leaf, None, decoder._sequence_logprob(logprobs, candidate_tokens[leaf])))
        else:
            options.append((None, token, first))
    return options


def _first_branch_impl(decoder: "TrieDecoder", node: _Node, logprobs: torch.Tensor, candidate_tokens: list[list[int]], whole: set[int]):
    """Compare whole-sequence fixed replies with the other branches at the first branching.

    Return (candidate index, log-probability) when a fixed reply wins, else None so that greedy
    decoding goes on (and never into a branch of fixed replies alone).
    """
    options = _first_branch_options(decoder, node, logprobs, candidate_tokens, whole)
    best_reply = max(((leaf, score) for leaf, _, score in options if leaf is not None), key=lambda item: item[1], default=None)
    best_other = max((score for leaf, _, score in options if leaf is None), default=-math.inf)
    if best_reply is not None and best_reply[1] > best_other:
        return best_reply
    # Greedy decoding continues among the branches that hold more than fixed replies.
    for token, child in list(node.children.items()):
        if best_other > -math.inf and all(leaf in whole for leaf in _leaves(child)):
            del node.children[token]
    return None


def sample_index(scores: torch.Tensor, temperature: float, generator: torch.Generator | None) -> int:
    """Draw an index of ``scores`` (log-probabilities) with probability proportional to exp(score / temperature)."""
    if len(scores) == 1:
        return 0
    # The generator is a CPU one, so the draw happens on the CPU whatever the model's device.
    probabilities = torch.softmax(scores.detach().float().cpu() / temperature, dim=-1)
    return int(torch.multinomial(probabilities, 1, generator=generator))


def _sample_first_branch(
    decoder: "TrieDecoder",
    node: _Node,
    logprobs: torch.Tensor,
    candidate_tokens: list[list[int]],
    whole: set[int],
    temperature: float,
    generator: torch.Generator | None,
):
    """Sample at the first branching among whole fixed replies and the other branches.

    The options and their scores are those of the greedy ``_first_branch_impl``: a fixed reply
    scores its whole sequence, any other branch its first token. Return (candidate index,
    log-probability) when a fixed reply is drawn. Otherwise keep only the drawn branch in
    ``node`` and return None, so that decoding goes on inside it.
    """
    options = _first_branch_options(decoder, node, logprobs, candidate_tokens, whole)
    if not options:
        return None

    scores = torch.tensor([score for _, _, score in options])
    reply, token, score = options[sample_index(scores, temperature, generator)]
    if reply is not None:
        return reply, score
    node.children = {token: node.children[token]}
    return None


def confidence(result: DecodeResult) -> float:
    """Return the probability the model gave the chosen path at its branching steps."""
    return math.exp(result.logprob)
