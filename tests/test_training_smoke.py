"""A few real TRL steps on a tiny trace set: the loss falls and only assistant tokens are labelled."""

import json

import yaml

from finetune.traces import TraceConfig, write_dataset
from finetune.train import FinetuneConfig, train


def test_lora_training_reduces_loss(tmp_path):
    data = tmp_path / "traces"
    write_dataset(TraceConfig(seed=3, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1), data)
    output = tmp_path / "adapter"

    summary = train(
        FinetuneConfig(
            data_dir=str(data),
            output_dir=str(output),
            max_steps=8,
            batch_size=4,
            max_train_samples=4,
            learning_rate=2e-3,
            warmup_steps=0,
            logging_steps=1,
        )
    )

    assert summary["steps"] == 8
    assert summary["last_loss"] < summary["first_loss"]
    assert (output / "adapter_config.json").is_file()
    saved = yaml.safe_load((output / "finetune_config.yaml").read_text())
    assert saved["max_steps"] == 8
    adapter_config = json.loads((output / "adapter_config.json").read_text())
    assert "lm_head" not in adapter_config["target_modules"]


def test_labels_cover_only_assistant_tokens(tmp_path, tokenizer):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agent.base_model import resolve_base_model

    data = tmp_path / "traces"
    write_dataset(TraceConfig(seed=5, single_per_tool=1, canned_per_kind=1, followups=2, test_per_tool=1, test_canned_per_kind=1, test_followups=1), data)
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    followup = next(row for row in rows if row["meta"]["shape"] == "followup")

    trainer = SFTTrainer(
        model=str(resolve_base_model()),
        args=SFTConfig(output_dir=str(tmp_path / "out"), assistant_only_loss=True, bf16=False, report_to=[], max_steps=1),
        train_dataset=Dataset.from_list([{"messages": followup["messages"]}]),
        processing_class=tokenizer,
    )
    example = trainer.train_dataset[0]
    collated = trainer.data_collator([example])
    labels = collated["labels"][0].tolist()
    ids = collated["input_ids"][0].tolist()

    labelled = tokenizer.decode([token for token, label in zip(ids, labels) if label != -100])
    last = followup["messages"][-1]
    # Only the target is labelled: the earlier reply has weight 0, the users' turns are prompts.
    assert followup["messages"][1]["content"] not in labelled
    assert followup["messages"][0]["content"] not in labelled
    assert followup["messages"][2]["content"] not in labelled
    assert labelled.endswith("<|im_end|>")
    if last.get("tool_calls"):
        assert last["tool_calls"][0]["function"]["name"] in labelled
