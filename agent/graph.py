"""The agent loop as a LangGraph graph: model node, tool node, reply node.

    START -> screen --(dangerous, greeting, off-topic: fixed reply)--> END
               |
               v
             model --(tool call)--> tools --(summary mode)--> respond -> END
               |  ^                   |
               |  +---(model mode)----+          (the model writes the reply itself)
               +--(text)--> finalize -> END     (grounding check on any written reply)

In the default summary mode the reply after a tool is the tool's own Chinese summary, which
holds the figures the dispatcher needs and cannot misquote them. In model mode (a stronger model
behind the HTTP backend) the model writes the reply and the grounding check replaces it with
the summary when it states a number that no source contains.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict

from agent.grounding import is_grounded
from pydantic import ValidationError

from agent.approval import approval_request, record_decision
from agent.candidates import CANNED_REPLIES
from agent.guard import UNKNOWN_METHOD_REPLY, Screen, screen_message, unknown_method
from tools import TOOLS, ToolContext, call_tool
from tools.contract import SIDE_EFFECT_TOOLS, TOOL_ARGS
from tools.preview import PreviewUnavailable, preview_side_effect

# Bad tool calls (unknown tool, invalid arguments) fed back to the model before giving up.
MAX_TOOL_ERRORS = 2
RECURSION_LIMIT = 12

NO_VALID_CALL = "抱歉，我没能生成有效的操作，请换一种说法，或说明区域、日期、用户编号等信息。"
REPEATED_CALL = "同一操作已重复执行，为避免重复发送，本轮已停止。请检查结果后再继续。"
CANCELLED = "已取消，未发送任何短信。"


class AgentState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    tool_errors: int


def _last_ai(state: AgentState) -> AIMessage | None:
    for message in reversed(state["messages"]):
        if isinstance(message, AIMessage):
            return message
    return None


def _turn_messages(state: AgentState) -> list[AnyMessage]:
    """Return the messages of the current turn, from the newest dispatcher message on."""
    messages = state["messages"]
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], HumanMessage):
            return messages[index:]
    return messages


def _call_problem(name: str, arguments: dict) -> str | None:
    """Return a Chinese description of what is wrong with a tool call, or None if it is valid."""
    if name not in TOOL_ARGS:
        return f"没有名为“{name}”的工具。"
    try:
        TOOL_ARGS[name].model_validate(arguments)
    except ValidationError as error:
        fields = "、".join(".".join(str(part) for part in item["loc"]) for item in error.errors())
        return f"工具“{name}”的参数无效：{fields}。"
    return None


def build_graph(
    chat_model,
    ctx: ToolContext,
    reply_mode: Literal["summary", "model"] = "summary",
    checkpointer=None,
    require_approval: bool = True,
    actor: str = "dispatcher",
    thread_id: str = "default",
):
    """Build and compile the agent graph over ``chat_model`` and the tools bound to ``ctx``.

    With ``require_approval`` every tool that sends messages pauses the graph with a LangGraph
    ``interrupt`` carrying a preview (recipients, text); the caller resumes it with
    ``Command(resume={"approved": bool})``. A checkpointer is then required.
    """
    bound_model = chat_model.bind_tools(list(TOOLS))

    def run_side_effect(call: dict, request_text: str) -> dict:
        """Run a sending tool only after the dispatcher approved its preview."""
        try:
            preview = preview_side_effect(call["name"], call["args"], ctx)
        except PreviewUnavailable:
            preview = {"tool": call["name"], "arguments": call["args"], "ok": True, "recipients": None, "sample_text": None}
        if not preview["ok"] or preview["recipients"] == 0:
            # The tool would fail or send nothing: it writes nothing either way, so no approval.
            result = call_tool(call["name"], call["args"], ctx)
            record_decision(ctx, actor, thread_id, request_text, call, preview, "auto", result)
            return result

        answer = interrupt(approval_request(preview))
        approved = answer is True or (isinstance(answer, dict) and bool(answer.get("approved")))
        if approved:
            result = call_tool(call["name"], call["args"], ctx)
        else:
            result = {"ok": True, "cancelled": True, "sent": 0, "summary": CANCELLED}
        record_decision(ctx, actor, thread_id, request_text, call, preview, "approved" if approved else "rejected", result)
        return result

    def screen(state: AgentState) -> dict:
        """Reply to dangerous and off-topic messages by rule, before any model reads them."""
        message = state["messages"][-1]
        text = message.content if isinstance(message.content, str) else ""
        verdict = screen_message(text)
        method = unknown_method(text) if verdict is Screen.DOMAIN else None
        if method:
            return {"messages": [AIMessage(content=UNKNOWN_METHOD_REPLY.format(method=method), response_metadata={"screened": "unknown_method"})]}
        reply_kind = {Screen.DANGEROUS: "refuse_dangerous", Screen.GREETING: "greeting", Screen.OFF_TOPIC: "out_of_domain"}.get(verdict)
        if reply_kind is None:
            return {}
        return {"messages": [AIMessage(content=CANNED_REPLIES[reply_kind], response_metadata={"screened": verdict.value})]}

    def after_screen(state: AgentState) -> str:
        return "model" if isinstance(state["messages"][-1], HumanMessage) else END

    def model(state: AgentState) -> dict:
        reply = bound_model.invoke(state["messages"])
        return {"messages": [reply]}

    def tools(state: AgentState) -> dict:
        ai = _last_ai(state)
        results: list[ToolMessage] = []
        errors = state.get("tool_errors", 0)
        turn = _turn_messages(state)
        request_text = turn[0].content if turn and isinstance(turn[0], HumanMessage) else ""
        earlier = [
            (call["name"], call["args"])
            for message in _turn_messages(state)[:-1]
            if isinstance(message, AIMessage)
            for call in message.tool_calls
        ]
        for call in ai.tool_calls:
            problem = _call_problem(call["name"], call["args"])
            if problem:
                result = {"ok": False, "error": problem, "summary": problem, "invalid_call": True}
            elif (call["name"], call["args"]) in earlier:
                result = {"ok": False, "error": REPEATED_CALL, "summary": REPEATED_CALL, "repeated": True}
            elif require_approval and call["name"] in SIDE_EFFECT_TOOLS:
                result = run_side_effect(call, request_text)
            else:
                result = call_tool(call["name"], call["args"], ctx)
            if not result.get("ok") and result.get("invalid_call"):
                errors += 1
            results.append(
                ToolMessage(
                    content=json.dumps(result, ensure_ascii=False),
                    name=call["name"],
                    tool_call_id=call["id"],
                    artifact=result,
                )
            )
        for invalid in ai.invalid_tool_calls:
            errors += 1
            error = {"ok": False, "error": f"工具调用格式无效：{invalid.get('error') or invalid.get('name')}", "invalid_call": True}
            error["summary"] = error["error"]
            results.append(ToolMessage(content=json.dumps(error, ensure_ascii=False), tool_call_id=invalid.get("id") or "invalid", artifact=error))
        return {"messages": results, "tool_errors": errors}

    def respond(state: AgentState) -> dict:
        summaries = [
            message.artifact.get("summary") or message.artifact.get("error", "")
            for message in _turn_messages(state)
            if isinstance(message, ToolMessage) and isinstance(message.artifact, dict)
        ]
        return {"messages": [AIMessage(content="\n".join(text for text in summaries if text))]}

    def finalize(state: AgentState) -> dict:
        ai = _last_ai(state)
        turn = _turn_messages(state)
        sources: list[Any] = [message.content for message in turn if isinstance(message, (HumanMessage, ToolMessage))]
        if is_grounded(ai.content or "", sources):
            return {}
        summaries = [m.artifact.get("summary", "") for m in turn if isinstance(m, ToolMessage) and isinstance(m.artifact, dict)]
        replacement = "\n".join(text for text in summaries if text) or NO_VALID_CALL
        return {"messages": [AIMessage(content=replacement, id=ai.id, response_metadata={"replaced_ungrounded": True})]}

    def after_model(state: AgentState) -> str:
        ai = _last_ai(state)
        if ai.tool_calls or ai.invalid_tool_calls:
            return "tools"
        return "finalize"

    def after_tools(state: AgentState) -> str:
        last_results = [m for m in reversed(state["messages"]) if isinstance(m, ToolMessage)]
        repeated = bool(last_results) and isinstance(last_results[0].artifact, dict) and last_results[0].artifact.get("repeated")
        if repeated or state.get("tool_errors", 0) > MAX_TOOL_ERRORS:
            return "give_up"
        if reply_mode == "model":
            return "model"
        return "respond"

    def give_up(state: AgentState) -> dict:
        last = next(m for m in reversed(state["messages"]) if isinstance(m, ToolMessage))
        text = REPEATED_CALL if isinstance(last.artifact, dict) and last.artifact.get("repeated") else NO_VALID_CALL
        return {"messages": [AIMessage(content=text)], "tool_errors": 0}

    graph = StateGraph(AgentState)
    graph.add_node("screen", screen)
    graph.add_node("model", model)
    graph.add_node("tools", tools)
    graph.add_node("respond", respond)
    graph.add_node("finalize", finalize)
    graph.add_node("give_up", give_up)
    graph.add_edge(START, "screen")
    graph.add_conditional_edges("screen", after_screen, {"model": "model", END: END})
    graph.add_conditional_edges("model", after_model, {"tools": "tools", "finalize": "finalize"})
    graph.add_conditional_edges("tools", after_tools, {"respond": "respond", "model": "model", "give_up": "give_up"})
    graph.add_edge("respond", END)
    graph.add_edge("finalize", END)
    graph.add_edge("give_up", END)
    return graph.compile(checkpointer=checkpointer)
