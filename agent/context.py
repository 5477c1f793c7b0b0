"""What the model sees of a conversation.

The model makes one decision per turn (a tool call or a fixed reply), and every reply after a
tool already carries the tool's figures. So its context is compact: the system prompt, the
last finished turns as (dispatcher text, assistant reply) pairs, and the new message. Tool-call
and tool-result messages stay in the graph state and the checkpointer, not in the prompt.
"""

from __future__ import annotations

from typing import Any

# Finished turns kept in the prompt. One is enough to resolve "好的" or "城北区呢" against the
# previous offer, and the 135M model was trained with exactly one.
HISTORY_TURNS = 1


def _role(message: Any) -> str:
    if isinstance(message, dict):
        return message["role"]
    return {"human": "user", "ai": "assistant"}.get(message.type, message.type)


def _content(message: Any) -> str:
    content = message["content"] if isinstance(message, dict) else message.content
    return content if isinstance(content, str) else ""


def _has_tool_calls(message: Any) -> bool:
    if isinstance(message, dict):
        return bool(message.get("tool_calls"))
    return bool(getattr(message, "tool_calls", None))


def model_view(messages: list[Any], history_turns: int = HISTORY_TURNS) -> list[dict]:
    """Return the chat messages the model is prompted with, ending with the newest user text.

    ``messages`` is the full history (dicts or LangChain messages), and its last user message is
    the one to reply to. Earlier turns collapse to their user text and final assistant text.
    """
    turns: list[list[dict]] = []
    for message in messages:
        role = _role(message)
        if role == "user":
            turns.append([{"role": "user", "content": _content(message)}])
        elif role == "assistant" and turns and not _has_tool_calls(message) and _content(message):
            turn = turns[-1]
            if len(turn) == 1:
                turn.append({"role": "assistant", "content": _content(message)})
            else:
                turn[1] = {"role": "assistant", "content": _content(message)}
    if not turns:
        return []
    current = turns[-1][:1]
    finished = [turn for turn in turns[:-1] if len(turn) == 2][-history_turns:] if history_turns else []
    view: list[dict] = []
    for turn in finished:
        view.extend(turn)
    return view + current


def conversation_texts(messages: list[Any]) -> list[str]:
    """Return the plain texts of a model view, oldest first, for entity extraction."""
    return [_content(message) for message in messages if _role(message) in ("user", "assistant") and _content(message)]


def user_texts(messages: list[Any]) -> list[str]:
    """Return the dispatcher's texts of a model view, oldest first."""
    return [_content(message) for message in messages if _role(message) == "user" and _content(message)]
