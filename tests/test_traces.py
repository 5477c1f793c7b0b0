"""The trace generator: deterministic, held-out phrasings, targets inside the decoder's language."""

import json

from finetune.phrasings import CANNED_PHRASINGS, TOOL_PHRASINGS
from finetune.traces import TraceConfig, check_target_admissible, generate, write_dataset

SMALL = TraceConfig(seed=2, single_per_tool=2, canned_per_kind=1, followups=6, test_per_tool=1, test_canned_per_kind=1, test_followups=2)


def test_same_seed_gives_same_dataset(tmp_path):
    first = write_dataset(SMALL, tmp_path / "a")
    second = write_dataset(SMALL, tmp_path / "b")

    assert first["sha256"] == second["sha256"]


def test_test_templates_never_occur_in_training():
    for table in (TOOL_PHRASINGS, CANNED_PHRASINGS):
        for intent, splits in table.items():
            assert not set(splits["train"]) & set(splits["test"]), intent


def test_every_target_is_admissible():
    splits = generate(SMALL)

    for samples in splits.values():
        for sample in samples:
            check_target_admissible(sample)


def test_followup_history_carries_no_loss():
    samples = generate(SMALL)["train"]

    followups = [sample for sample in samples if sample["meta"]["shape"] == "followup"]
    assert followups
    for sample in followups:
        assert sample["messages"][1]["weight"] == 0
        assert "weight" not in sample["messages"][-1]


def test_sharegpt_export_keeps_call_and_roles(tmp_path):
    from finetune.export_formats import export_all

    write_dataset(TraceConfig(seed=2, single_per_tool=1, canned_per_kind=1, followups=3, test_per_tool=1, test_canned_per_kind=1, test_followups=1), tmp_path)
    paths = export_all(tmp_path)

    records = json.loads(paths["train.sharegpt"].read_text(encoding="utf-8"))
    roles = {turn["from"] for record in records for turn in record["conversations"]}
    assert roles <= {"human", "function_call", "gpt", "observation"}
    calls = [json.loads(turn["value"]) for record in records for turn in record["conversations"] if turn["from"] == "function_call"]
    assert calls
    assert all(set(call) == {"name", "arguments"} for call in calls)
    assert len(json.loads(records[0]["tools"])) == 12
