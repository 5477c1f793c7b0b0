"""Dataset exports for other trainers.

- Hugging Face ``messages`` + ``tools`` JSONL: the project's own rows with the tool schemas that
  TRL passes to a tool-aware chat template (Qwen's, for instance).
- ShareGPT with function calls, the layout LLaMA-Factory reads (``conversations`` with the roles
  human / function_call / observation / gpt, ``system`` and ``tools`` as strings).
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.template import SYSTEM_PROMPT
from tools.contract import all_tool_schemas


def to_hf_row(sample: dict, tools: list[dict]) -> dict:
    """Return the sample as a ``messages`` + ``tools`` row (weights kept for Axolotl-style masking)."""
    return {"messages": sample["messages"], "tools": tools}


def to_sharegpt(sample: dict, tools_json: str) -> dict:
    """Convert one trace to LLaMA-Factory's ShareGPT function-call layout."""
    conversations = []
    for message in sample["messages"]:
        role = message["role"]
        if role == "user":
            conversations.append({"from": "human", "value": message["content"]})
        elif role == "assistant" and message.get("tool_calls"):
            function = message["tool_calls"][0]["function"]
            arguments = json.loads(function["arguments"]) if isinstance(function["arguments"], str) else function["arguments"]
            conversations.append({"from": "function_call", "value": json.dumps({"name": function["name"], "arguments": arguments}, ensure_ascii=False)})
        elif role == "assistant":
            conversations.append({"from": "gpt", "value": message["content"]})
        elif role == "tool":
            conversations.append({"from": "observation", "value": message["content"]})
    return {"conversations": conversations, "system": SYSTEM_PROMPT, "tools": tools_json}


def export_all(folder: Path) -> dict[str, Path]:
    """Write ``{split}.hf.jsonl`` and ``{split}.sharegpt.json`` next to the traces in ``folder``."""
    tools = all_tool_schemas()
    tools_json = json.dumps(tools, ensure_ascii=False)
    written: dict[str, Path] = {}
    for split in ("train", "test"):
        source = folder / f"{split}.jsonl"
        if not source.is_file():
            continue
        samples = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]

        hf_path = folder / f"{split}.hf.jsonl"
        with open(hf_path, "w", encoding="utf-8") as handle:
            for sample in samples:
                handle.write(json.dumps(to_hf_row(sample, tools), ensure_ascii=False) + "\n")
        sharegpt_path = folder / f"{split}.sharegpt.json"
        with open(sharegpt_path, "w", encoding="utf-8") as handle:
            json.dump([to_sharegpt(sample, tools_json) for sample in samples], handle, ensure_ascii=False, indent=1)
        written[f"{split}.hf"] = hf_path
        written[f"{split}.sharegpt"] = sharegpt_path
    return written
