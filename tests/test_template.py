import json

from agent.template import parse_tool_call, render_tool_call

CONVERSATION = [
    {"role": "user", "content": "统计城南区的回复"},
    {
        "role": "assistant",
        "tool_calls": [{"type": "function", "function": {"name": "count_replies", "arguments": '{"date":"tomorrow","district":"城南区"}'}}],
    },
    {"role": "tool", "content": "城南区已有84位用户回复参与。"},
    {"role": "assistant", "content": "城南区已有84位用户回复参与。"},
]


def test_template_renders_call_like_render_tool_call(tokenizer):
    text = tokenizer.apply_chat_template(CONVERSATION, tokenize=False)

    expected = render_tool_call("count_replies", {"date": "tomorrow", "district": "城南区"})
    assert expected in text
    assert "<tool_response>城南区已有84位用户回复参与。</tool_response>" in text


def test_template_accepts_dict_arguments(tokenizer):
    as_dict = json.loads(json.dumps(CONVERSATION))
    as_dict[1]["tool_calls"][0]["function"]["arguments"] = {"date": "tomorrow", "district": "城南区"}

    assert tokenizer.apply_chat_template(as_dict, tokenize=False) == tokenizer.apply_chat_template(CONVERSATION, tokenize=False)


def test_assistant_mask_covers_only_assistant_turns(tokenizer):
    encoded = tokenizer.apply_chat_template(CONVERSATION, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]

    masked_text = tokenizer.decode([token for token, keep in zip(ids, mask) if keep])
    call = render_tool_call("count_replies", {"date": "tomorrow", "district": "城南区"})
    assert masked_text == call + "<|im_end|>" + "城南区已有84位用户回复参与。" + "<|im_end|>"
    assert "统计" not in masked_text
    assert "<tool_response>" not in masked_text


def test_prompt_plus_candidate_tokenises_like_full_conversation(tokenizer):
    messages = CONVERSATION[:2]
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=True, add_generation_prompt=True, return_dict=True)["input_ids"]
    call = render_tool_call("count_replies", {"date": "tomorrow", "district": "城南区"})

    candidate = tokenizer(call, add_special_tokens=False)["input_ids"]
    assert list(full[: len(prompt)]) == list(prompt)
    assert list(full[len(prompt) : len(prompt) + len(candidate)]) == list(candidate)


def test_parse_tool_call_round_trip():
    text = render_tool_call("decompose_deficit", {"gap_mw": 40, "method": "mean", "district": None})

    assert parse_tool_call(text) == ("decompose_deficit", {"gap_mw": 40, "method": "mean", "district": None})
    assert parse_tool_call("<tool_call>{not json}</tool_call>") is None
    assert parse_tool_call("明天有缺口") is None
