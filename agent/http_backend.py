"""Chat model backed by an OpenAI-compatible HTTP server (vLLM, llama.cpp server, ...).

The server gets the real tool schemas and returns tool calls in the OpenAI format. Nothing
constrains its output, so the graph validates every call and runs the grounding check on the
replies it writes (reply mode "model").
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Sequence

import httpx
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.template import SYSTEM_PROMPT
from tools.contract import tool_schema


class BackendError(RuntimeError):
    """Raised when the HTTP model server fails or returns something unreadable."""


def _to_openai(message: BaseMessage) -> dict:
    if isinstance(message, SystemMessage):
        return {"role": "system", "content": message.content}
    if isinstance(message, HumanMessage):
        return {"role": "user", "content": message.content}
    if isinstance(message, ToolMessage):
        return {"role": "tool", "content": message.content, "tool_call_id": message.tool_call_id}
    payload: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if getattr(message, "tool_calls", None):
        payload["tool_calls"] = [
            {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": json.dumps(call["args"], ensure_ascii=False)}}
            for call in message.tool_calls
        ]
    return payload


class OpenAICompatibleChatModel(BaseChatModel):
    """POSTs to ``{base_url}/chat/completions`` with the tool schemas of the bound tools."""

    base_url: str
    model: str = "dr-agent"
    timeout_seconds: float = 60.0
    tool_names: list[str] | None = None
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "openai-compatible-http"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):
        names = [tool if isinstance(tool, str) else getattr(tool, "name", None) or tool["function"]["name"] for tool in tools]
        return self.model_copy(update={"tool_names": names})

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}] + [_to_openai(m) for m in messages],
            "temperature": self.temperature,
        }
        if self.tool_names:
            body["tools"] = [tool_schema(name) for name in self.tool_names]
        url = self.base_url.rstrip("/") + "/chat/completions"
        try:
            response = httpx.post(url, json=body, timeout=self.timeout_seconds)
            response.raise_for_status()
            choice = response.json()["choices"][0]["message"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as error:
            raise BackendError(f"model server request to {url} failed: {error}") from error

        tool_calls, invalid = [], []
        for call in choice.get("tool_calls") or []:
            function = call.get("function", {})
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:12]}"
            try:
                arguments = json.loads(function.get("arguments") or "{}")
                if not isinstance(arguments, dict):
                    raise ValueError("arguments are not an object")
                tool_calls.append({"name": function.get("name", ""), "args": arguments, "id": call_id})
            except ValueError as error:
                invalid.append({"name": function.get("name"), "args": function.get("arguments"), "id": call_id, "error": str(error), "type": "invalid_tool_call"})
        message = AIMessage(content=choice.get("content") or "", tool_calls=tool_calls, invalid_tool_calls=invalid)
        return ChatResult(generations=[ChatGeneration(message=message)])
