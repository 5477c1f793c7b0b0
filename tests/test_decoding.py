import pytest
import torch

from agent.decoding import TrieDecoder, build_trie


def test_trie_shares_prefixes_and_marks_leaves():
    trie = build_trie([[1, 2, 3], [1, 2, 4], [5]])

    assert set(trie.children) == {1, 5}
    assert set(trie.children[1].children[2].children) == {3, 4}
    assert trie.children[1].children[2].children[4].candidate_index == 1


@pytest.fixture(scope="module")
def base_decoder(tokenizer):
    from agent.base_model import load_model

    return TrieDecoder(load_model(adapter=None), tokenizer)


def _prompt(tokenizer, text):
    return list(tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"])


def test_single_candidate_needs_no_model_step(base_decoder, tokenizer):
    candidates = base_decoder.encode_candidates(["好的"])

    result = base_decoder.decode(_prompt(tokenizer, "你好"), candidates)

    assert result.index == 0
    assert result.model_steps == 0


def test_greedy_choice_matches_full_scoring(base_decoder, tokenizer):
    texts = ["alpha", "beta", "gamma"]
    prompt = _prompt(tokenizer, "明天会有负荷缺口吗？")
    candidates = base_decoder.encode_candidates(texts)

    chosen = base_decoder.decode(prompt, candidates).index

    # Score every candidate's first token directly: with single-token-distinct candidates the
    # greedy trie walk must pick the highest first-token probability.
    with torch.inference_mode():
        logits = base_decoder.model(input_ids=torch.tensor([prompt])).logits[0, -1]
    first_tokens = [tokens[0] for tokens in candidates]
    assert len(set(first_tokens)) == len(first_tokens)
    best = max(range(len(texts)), key=lambda index: float(logits[first_tokens[index]]))
    assert chosen == best


def test_reused_cache_gives_the_same_choice(base_decoder, tokenizer):
    candidates = base_decoder.encode_candidates(["<tool_call>甲</tool_call>", "<tool_call>乙</tool_call>", "您好"])
    first_prompt = _prompt(tokenizer, "查看城南区的负荷曲线")
    second_prompt = _prompt(tokenizer, "统计城北区的回复")

    fresh = TrieDecoder(base_decoder.model, tokenizer).decode(second_prompt, candidates)
    base_decoder.decode(first_prompt, candidates)
    reused = base_decoder.decode(second_prompt, candidates)

    assert reused.reused_tokens > 0
    assert reused.index == fresh.index
    assert reused.logprob == pytest.approx(fresh.logprob, abs=1e-3)
