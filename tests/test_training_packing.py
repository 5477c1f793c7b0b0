"""Padding-free packing: samples packed into one row neither see each other nor lose their labels."""

from __future__ import annotations

import json

import torch

from finetune.traces import TraceConfig, write_dataset


def _trainer(tmp_path, tokenizer, rows, padding_free: bool):
    from datasets import Dataset
    from trl import SFTTrainer

    from agent.base_model import resolve_base_model
    from finetune.train import FinetuneConfig, sft_config

    config = FinetuneConfig(packing=padding_free, max_steps=1)
    return SFTTrainer(
        model=str(resolve_base_model()),
        args=sft_config(config, tmp_path / "out", bf16=False),
        train_dataset=Dataset.from_list([{"messages": row["messages"]} for row in rows]),
        processing_class=tokenizer,
    )


def _rows(tmp_path) -> list[dict]:
    write_dataset(TraceConfig(seed=5, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1), tmp_path / "traces")
    return [json.loads(line) for line in (tmp_path / "traces" / "train.jsonl").read_text().splitlines()]


def test_packed_row_matches_separate_logits(tmp_path, tokenizer):
    rows = _rows(tmp_path)
    picked = [rows[0], next(row for row in rows if row["meta"]["shape"] == "followup"), rows[3]]
    trainer = _trainer(tmp_path, tokenizer, picked, padding_free=True)
    examples = [trainer.train_dataset[index] for index in range(3)]
    packed = trainer.data_collator(examples)
    assert packed["input_ids"].shape[0] == 1
    assert "attention_mask" not in packed

    model = trainer.model.eval()
    inputs = {key: value for key, value in packed.items() if key != "labels"}
    with torch.no_grad():
        packed_logits = model(**inputs).logits[0]
        start = 0
        for example in examples:
            ids = torch.tensor([example["input_ids"]])
            alone = model(input_ids=ids).logits[0]
            segment = packed_logits[start : start + ids.shape[1]]
            # A sample that attended across the boundary would differ by far more than float noise.
            assert torch.allclose(segment, alone, atol=2e-3), (segment - alone).abs().max()
            start += ids.shape[1]
    assert start == packed["input_ids"].shape[1]


def _with_tool_result(row: dict) -> dict:
    """The follow-up trace written out in full: the earlier turn's tool call and tool result included.

    The generator keeps only the earlier turn's reply (weight 0). A dataset from another source
    carries the call and the result as well, and neither may be trained on.
    """
    first, reply, *rest = row["messages"]
    call = {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_load_gap", "arguments": '{"date": "tomorrow"}'}}], "weight": 0}
    result = {"role": "tool", "name": "get_load_gap", "content": '{"gap_mw": 30, "start": "14:00", "end": "18:00"}'}
    return {"messages": [first, call, result, reply, *rest], "meta": row["meta"]}


def test_packed_labels_skip_tool_results(tmp_path, tokenizer):
    rows = _rows(tmp_path)
    with_tool_result = [_with_tool_result(row) for row in rows if row["meta"]["shape"] == "followup"][:3]
    assert len(with_tool_result) >= 2
    trainer = _trainer(tmp_path, tokenizer, with_tool_result, padding_free=True)
    examples = [trainer.train_dataset[index] for index in range(len(with_tool_result))]
    packed = trainer.data_collator(examples)
    ids, labels = packed["input_ids"][0].tolist(), packed["labels"][0].tolist()
    labelled = tokenizer.decode([token for token, label in zip(ids, labels) if label != -100])
    assert "gap_mw" in tokenizer.decode(ids)
    assert "gap_mw" not in labelled
    assert "get_load_gap" not in labelled

    for row in with_tool_result:
        for message in row["messages"]:
            if message["role"] in ("tool", "user", "system") or message.get("weight") == 0 and message.get("content"):
                assert message["content"] not in labelled, message["role"]
        target = row["messages"][-1]
        if target.get("tool_calls"):
            assert target["tool_calls"][0]["function"]["name"] in labelled
        else:
            assert target["content"] in labelled
    # The first token of every packed sample has no previous token to predict it from.
    starts = [index for index, position in enumerate(packed["position_ids"][0].tolist()) if position == 0]
    assert all(labels[index] == -100 for index in starts)
