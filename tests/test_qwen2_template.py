"""A base model with Qwen2.5's own tool-aware chat template: rendering, one LoRA step, a decision.

The model is a tiny Qwen2 with random weights, built here, with the embedded SmolLM2 tokenizer
(it has <|im_start|> and <|im_end|>) carrying the Qwen2.5 template that TRL 1.16 ships. Random
weights make the decision arbitrary, so only its form is checked.
"""

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from agent.base_model import load_tokenizer
from finetune.traces import TraceConfig, load_split, write_dataset
from finetune.train import FinetuneConfig, sft_config, train, training_dataset

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


@pytest.fixture(scope="module")
def qwen_folder(tmp_path_factory) -> Path:
    """A Qwen2ForCausalLM (hidden 64, 2 layers, 4 heads, 2 key-value heads) saved with its tokenizer."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
    from trl.chat_template_utils import qwen2_5_chat_template

    from agent.base_model import resolve_base_model

    folder = tmp_path_factory.mktemp("qwen2-tiny")
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_model())
    tokenizer.chat_template = qwen2_5_chat_template
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def traces(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("traces")
    write_dataset(TraceConfig(seed=3, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1), folder)
    return folder


@pytest.fixture(scope="module")
def trained(qwen_folder, traces, tmp_path_factory) -> tuple[Path, dict]:
    """Train one LoRA step on the Qwen base and return (artefact folder, training summary)."""
    output = tmp_path_factory.mktemp("qwen-lora")
    summary = train(
        FinetuneConfig(
            base_model=str(qwen_folder),
            method="lora",
            data_dir=str(traces),
            output_dir=str(output),
            max_steps=1,
            batch_size=2,
            max_train_samples=2,
            warmup_steps=0,
            logging_steps=1,
        )
    )
    return output, summary


def _tool_call_row(traces: Path, shape: str) -> dict:
    return next(row for row in load_split(traces, "train") if row["meta"]["shape"] == shape and row["messages"][-1].get("tool_calls"))


def test_load_tokenizer_keeps_qwen_template(qwen_folder):
    from trl.chat_template_utils import qwen2_5_chat_template

    assert load_tokenizer(str(qwen_folder)).chat_template == qwen2_5_chat_template


def test_qwen_template_renders_tools_and_call(qwen_folder, traces):
    from tools.contract import all_tool_schemas

    tokenizer = load_tokenizer(str(qwen_folder))
    sample = _tool_call_row(traces, "single")
    function = sample["messages"][-1]["tool_calls"][0]["function"]
    tools = all_tool_schemas()
    messages = training_dataset([{"messages": sample["messages"]}], tokenizer)[0]["messages"]

    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)

    assert text.startswith("<|im_start|>system\n" + QWEN_DEFAULT_SYSTEM + "\n\n# Tools")
    schema = next(tool for tool in tools if tool["function"]["name"] == function["name"])
    # Qwen's template writes each schema with tojson: json.dumps, non-ASCII kept.
    assert "<tools>\n" in text
    assert json.dumps(schema, ensure_ascii=False) in text
    # Arguments must be a JSON object, not the trace's JSON string encoded a second time.
    call = {"name": function["name"], "arguments": json.loads(function["arguments"])}
    assert "<|im_start|>assistant\n<tool_call>\n" + json.dumps(call, ensure_ascii=False) + "\n</tool_call><|im_end|>" in text


def test_qwen_lora_trains_one_step(trained):
    output, summary = trained

    assert summary["steps"] == 1
    assert math.isfinite(summary["train_loss"])
    assert (output / "adapter_config.json").is_file()
    assert (output / "finetune_config.yaml").is_file()


def test_qwen_labels_cover_only_assistant_turns(qwen_folder, traces, tmp_path):
    from trl import SFTTrainer
    from trl.chat_template_utils import qwen2_5_training_chat_template

    tokenizer = load_tokenizer(str(qwen_folder))
    sample = _tool_call_row(traces, "followup")
    config = FinetuneConfig(base_model=str(qwen_folder), data_dir=str(traces), output_dir=str(tmp_path), max_steps=1)
    trainer = SFTTrainer(
        model=str(qwen_folder),
        args=sft_config(config, tmp_path / "checkpoints", bf16=False),
        train_dataset=training_dataset([{"messages": sample["messages"]}], tokenizer),
        processing_class=tokenizer,
    )
    # With assistant_only_loss, TRL renders with its copy of the template that has generation markers.
    assert trainer.chat_template == qwen2_5_training_chat_template

    collated = trainer.data_collator([trainer.train_dataset[0]])
    ids = collated["input_ids"][0].tolist()
    labels = collated["labels"][0].tolist()
    labelled = tokenizer.decode([token for token, label in zip(ids, labels) if label != -100])

    function = sample["messages"][-1]["tool_calls"][0]["function"]
    assert QWEN_DEFAULT_SYSTEM not in labelled
    assert "<|im_start|>" not in labelled
    for message in sample["messages"]:
        if message["role"] == "user":
            assert message["content"] not in labelled
    assert f'{{"name": "{function["name"]}"' in labelled
    assert labelled.endswith("</tool_call><|im_end|>\n")


def test_qwen_policy_decides_with_own_template(qwen_folder, trained):
    from agent.candidates import build_candidates, find_mentions
    from agent.context import conversation_texts, model_view, user_texts
    from agent.policy import LocalPolicy

    output, _ = trained
    messages = [{"role": "user", "content": "明天城南区会有负荷缺口吗？"}]
    districts = ["城南区", "城北区"]
    today = dt.date(2026, 5, 1)
    policy = LocalPolicy(base_model=str(qwen_folder), adapter=str(output))

    decision = policy.decide(messages, districts, today)

    view = model_view(messages)
    mentions = find_mentions(conversation_texts(view), districts, today, user_texts(view))
    current = find_mentions(user_texts(view)[-1:], districts, today)
    assert decision.candidate in build_candidates(mentions, None, current)
    prompt = policy.tokenizer.decode(policy.prompt_ids(view))
    assert prompt.startswith("<|im_start|>system\n" + QWEN_DEFAULT_SYSTEM + "<|im_end|>\n")
    assert decision.prompt_tokens == len(policy.prompt_ids(view))
