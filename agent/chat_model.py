"""LangChain chat-model wrapper around the local constrained policy.

``ChatHuggingFace`` drops tools for local pipelines, so the project has its own
``BaseChatModel``: ``bind_tools`` restricts the tools the decoder may call, and ``_generate``
returns an ``AIMessage`` that carries either one tool call or a fixed reply.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Callable, Sequence

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from agent.policy import LocalPolicy

# Returns the city's district names and the simulator's current date.
WorldFacts = Callable[[], tuple[list[str], dt.date]]


def _tool_name(tool: Any) -> str:
    if isinstance(tool, str):
        return tool
    if isinstance(tool, dict):
        return tool.get("function", tool).get("name")
    return getattr(tool, "name", None) or getattr(tool, "__name__")


class LocalToolChatModel(BaseChatModel):
    """Chat model whose every output is one admissible tool call or one fixed reply."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    policy: Any  # LocalPolicy
    world_facts: Any  # WorldFacts
    tool_names: list[str] | None = None

    @property
    def _llm_type(self) -> str:
        return "dr-agent-local-constrained"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):
        return self.model_copy(update={"tool_names": [_tool_name(tool) for tool in tools]})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None, **kwargs: Any) -> ChatResult:
        districts, today = self.world_facts()
        decision = self.policy.decide(messages, districts, today, self.tool_names)
        candidate = decision.candidate
        metadata = {
            "model_steps": decision.model_steps,
            "prompt_tokens": decision.prompt_tokens,
            "reused_tokens": decision.reused_tokens,
            "seconds": round(decision.seconds, 3),
            "logprob": round(decision.confidence_logprob, 4),
        }
        if candidate.tool:
            message = AIMessage(
                content="",
                tool_calls=[{"name": candidate.tool, "args": dict(candidate.arguments), "id": f"call_{uuid.uuid4().hex[:12]}"}],
                response_metadata=metadata,
            )
        else:
            message = AIMessage(content=candidate.text, response_metadata=dict(metadata, reply_kind=candidate.reply_kind))
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_local_chat_model(policy: LocalPolicy, world_facts: WorldFacts) -> LocalToolChatModel:
    return LocalToolChatModel(policy=policy, world_facts=world_facts)
