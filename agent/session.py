"""One conversation with the agent over one city database, persisted by a SQLite checkpointer."""

from __future__ import annotations

import getpass
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from agent.graph import RECURSION_LIMIT, build_graph
from tools import ToolContext
from tools.contract import SIDE_EFFECT_TOOLS
from tools.world import district_names, sim_today

log = logging.getLogger(__name__)

RECURSION_REPLY = "本轮操作步骤过多，已停止。请把请求拆成更小的步骤再试。"
EMPTY_INPUT_REPLY = "请输入您的问题，例如：明天会有负荷缺口吗？"
# Longer messages are cut before they reach the model; the prompt of a 135M model must stay short.
MAX_INPUT_CHARS = 500


@dataclass
class TurnResult:
    """Outcome of one dispatcher message: reply, tool calls and results, timing."""

    reply: str
    tool_calls: list[dict] = field(default_factory=list)
    tool_results: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    model_seconds: float = 0.0
    pending_approval: list[dict] = field(default_factory=list)  # interrupt payloads awaiting a decision
    sms_sent: int = 0  # messages written by sending tools in this turn


class AgentSession:
    """Send dispatcher messages through the graph; the thread id names the conversation."""

    def __init__(
        self,
        ctx: ToolContext,
        chat_model,
        thread_id: str = "default",
        checkpoint_path: str | Path | None = None,
        reply_mode: str = "summary",
        require_approval: bool = True,
        actor: str | None = None,
    ):
        self.ctx = ctx
        self.thread_id = thread_id
        self._connection = None
        if checkpoint_path:
            Path(checkpoint_path).parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(str(checkpoint_path), check_same_thread=False)
            checkpointer = SqliteSaver(self._connection)
        else:
            from langgraph.checkpoint.memory import InMemorySaver

            checkpointer = InMemorySaver()
        self.graph = build_graph(
            chat_model,
            ctx,
            reply_mode=reply_mode,
            checkpointer=checkpointer,
            require_approval=require_approval,
            actor=actor or getpass.getuser(),
            thread_id=thread_id,
        )

    @property
    def config(self) -> dict:
        return {"configurable": {"thread_id": self.thread_id}, "recursion_limit": RECURSION_LIMIT}

    def history(self) -> list:
        state = self.graph.get_state(self.config)
        return list(state.values.get("messages", [])) if state and state.values else []

    def pending(self) -> list[dict]:
        """Return the approval requests the conversation is waiting on."""
        state = self.graph.get_state(self.config)
        return [item.value for item in (state.interrupts if state else ())]

    def send(self, text: str) -> TurnResult:
        """Run one dispatcher message to the end of the agent's turn or to an approval request."""
        text = (text or "").strip()
        if not text:
            return TurnResult(reply=EMPTY_INPUT_REPLY)
        if len(text) > MAX_INPUT_CHARS:
            log.info("input of %d characters cut to %d", len(text), MAX_INPUT_CHARS)
            text = text[:MAX_INPUT_CHARS]
        if self.pending():
            # A new message in place of a decision on the approval request rejects the send.
            self.resume(approved=False)
        return self._run({"messages": [HumanMessage(content=text)], "tool_errors": 0})

    def resume(self, approved: bool) -> TurnResult:
        """Decide the pending approval request and run the turn to its end."""
        return self._run(Command(resume={"approved": approved}))

    def _run(self, graph_input) -> TurnResult:
        started = time.perf_counter()
        before = len(self.history())
        try:
            state = self.graph.invoke(graph_input, self.config)
        except GraphRecursionError:
            log.warning("recursion limit reached in thread %s", self.thread_id)
            return TurnResult(reply=RECURSION_REPLY, seconds=time.perf_counter() - started)

        new = state["messages"][before:]
        result = TurnResult(reply="", seconds=time.perf_counter() - started)
        for message in new:
            if isinstance(message, AIMessage):
                result.model_seconds += float(message.response_metadata.get("seconds", 0.0))
                for call in message.tool_calls:
                    result.tool_calls.append({"name": call["name"], "arguments": call["args"]})
                if message.content and not message.tool_calls:
                    result.reply = message.content
            elif isinstance(message, ToolMessage) and isinstance(message.artifact, dict):
                result.tool_results.append(message.artifact)
                if message.name in SIDE_EFFECT_TOOLS:
                    result.sms_sent += int(message.artifact.get("sent") or 0)

        result.pending_approval = self.pending()
        if result.pending_approval:
            result.reply = "\n".join(item["prompt"] for item in result.pending_approval)
        return result

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def world_facts_of(ctx: ToolContext):
    """Return a callable giving the city's districts and the simulator date, for the model."""
    return lambda: (district_names(ctx), sim_today(ctx))
