"""The one tool-calling chat template, shared by training and inference.

SmolLM2's own template has no tool support, so the project renders tool calls as
``<tool_call>{json}</tool_call>`` inside an assistant turn and tool results as
``<tool_response>...</tool_response>`` inside a ``tool`` turn. Assistant turns are wrapped in
``{% generation %}`` markers so that TRL's ``assistant_only_loss`` puts labels on them alone. An
assistant message with ``"weight": 0`` (the convention of Axolotl's chat datasets) is context
only: same text, no markers, so earlier replies in a trace carry no loss.

The tool list is not written into the prompt: fine-tuning teaches the tools, which keeps the
static prefix short (about 430 tokens saved with this tokenizer), and the constrained decoder
still only admits calls that match the real schemas.
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM_PROMPT = "你是需求响应调度助手。"

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

# Arguments may arrive as a dict or as an already-serialised JSON string: datasets stored in
# Arrow merge the argument dicts of different tools into one struct (filling absent keys with
# null), so traces keep them as strings.
CHAT_TEMPLATE = (
    "{%- macro assistant_body(message) -%}"
    "{%- if message.get('tool_calls') -%}"
    "{%- for call in message['tool_calls'] -%}"
    "{%- set fn = call['function'] if call.get('function') else call -%}"
    "{%- set args = fn['arguments'] -%}"
    "{{- '<tool_call>{\"name\":' + (fn['name'] | tojson) + ',\"arguments\":' -}}"
    "{%- if args is string -%}{{- args -}}{%- else -%}{{- args | tojson(separators=(',', ':')) -}}{%- endif -%}"
    "{{- '}</tool_call>' -}}"
    "{%- endfor -%}"
    "{%- else -%}"
    "{{- message['content'] -}}"
    "{%- endif -%}"
    "{%- endmacro -%}"
    "{%- set default_system = '" + SYSTEM_PROMPT + "' -%}"
    "{%- if messages[0]['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\n' + default_system + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' and message.get('weight') == 0 -%}"
    "{{- '<|im_start|>assistant\\n' + assistant_body(message) + '<|im_end|>\\n' -}}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- generation -%}"
    "{{- assistant_body(message) -}}"
    "{{- '<|im_end|>' -}}"
    "{%- endgeneration -%}"
    "{{- '\\n' -}}"
    "{%- elif message['role'] == 'tool' -%}"
    "{{- '<|im_start|>tool\\n<tool_response>' + message['content'] + '</tool_response><|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def canonical_arguments(arguments: dict[str, Any]) -> str:
    """Serialise tool arguments the one way the model sees them: compact JSON, raw Chinese."""
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def render_tool_call(name: str, arguments: dict[str, Any]) -> str:
    """Render one tool call exactly as the template writes it inside an assistant turn."""
    return (
        TOOL_CALL_OPEN
        + '{"name":'
        + json.dumps(name, ensure_ascii=False)
        + ',"arguments":'
        + canonical_arguments(arguments)
        + "}"
        + TOOL_CALL_CLOSE
    )


def parse_tool_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """Parse ``<tool_call>{...}</tool_call>`` back into (name, arguments), or None if malformed."""
    text = text.strip()
    if not (text.startswith(TOOL_CALL_OPEN) and text.endswith(TOOL_CALL_CLOSE)):
        return None
    body = text[len(TOOL_CALL_OPEN) : -len(TOOL_CALL_CLOSE)]
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
        return None
    arguments = payload.get("arguments", {})
    if not isinstance(arguments, dict):
        return None
    return payload["name"], arguments
