"""Sends wait for the dispatcher's approval; decisions land in the audit trail."""

from __future__ import annotations

from sqlmodel import Session, func, select

from agent.http_backend import OpenAICompatibleChatModel
from agent.session import AgentSession
from sim_grid import list_audit, open_city
from sim_grid.models import SmsOutbox
from tests.test_graph_http import ScriptedModelServer, _call
from tools import ToolContext, call_tool


def _outbox_count(ctx: ToolContext) -> int:
    with Session(ctx.engine) as session:
        return session.exec(select(func.count()).select_from(SmsOutbox)).one()


def _prepared(demo_db) -> ToolContext:
    ctx = ToolContext(open_city(demo_db))
    assert call_tool("decompose_deficit", {"gap_mw": 40}, ctx)["ok"]
    return ctx


def test_send_waits_for_approval(demo_db):
    ctx = _prepared(demo_db)
    with ScriptedModelServer([_call("send_dr_notification", {"district": "城南区"}), {"role": "assistant", "content": "已发送。"}]) as server:
        session = AgentSession(ctx, OpenAICompatibleChatModel(base_url=server.url), reply_mode="model")

        turn = session.send("给城南区发通知")

        assert _outbox_count(ctx) == 0
        assert turn.sms_sent == 0
        assert len(turn.pending_approval) == 1
        assert turn.pending_approval[0]["preview"]["recipients"] == 128
        assert "128" in turn.reply

        done = session.resume(approved=True)

    assert done.sms_sent == 128
    assert _outbox_count(ctx) == 128


def test_rejected_send_writes_nothing(demo_db):
    ctx = _prepared(demo_db)
    with ScriptedModelServer([_call("send_dr_notification", {"district": "城南区"})]) as server:
        session = AgentSession(ctx, OpenAICompatibleChatModel(base_url=server.url))
        session.send("给城南区发通知")

        done = session.resume(approved=False)

    assert done.sms_sent == 0
    assert "已取消" in done.reply
    assert _outbox_count(ctx) == 0


def test_new_message_rejects_pending_send(demo_db):
    ctx = _prepared(demo_db)
    script = [_call("send_dr_notification", {"district": "城南区"}), {"role": "assistant", "content": "好的。"}]
    with ScriptedModelServer(script) as server:
        session = AgentSession(ctx, OpenAICompatibleChatModel(base_url=server.url), reply_mode="model")
        session.send("给城南区发通知")

        session.send("统计一下回复")

    assert session.pending() == []
    assert _outbox_count(ctx) == 0
    assert [entry.decision for entry in list_audit(ctx.engine)] == ["rejected"]


def test_audit_records_request_and_decision(demo_db):
    ctx = _prepared(demo_db)
    with ScriptedModelServer([_call("send_dr_notification", {"district": "城南区"})]) as server:
        session = AgentSession(ctx, OpenAICompatibleChatModel(base_url=server.url), thread_id="t-audit", actor="tester")
        session.send("给城南区发通知")
        session.resume(approved=True)

    entries = list_audit(ctx.engine)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == "tester"
    assert entry.thread_id == "t-audit"
    assert entry.request_text == "给城南区发通知"
    assert entry.decision == "approved"
    assert entry.sent_count == 128
    assert "128" in entry.proposal


def test_failing_send_needs_no_approval(demo_db):
    ctx = ToolContext(open_city(demo_db))  # no decomposition: the tool returns an error
    with ScriptedModelServer([_call("send_dr_notification", {"district": "城南区"})]) as server:
        session = AgentSession(ctx, OpenAICompatibleChatModel(base_url=server.url))

        turn = session.send("给城南区发通知")

    assert turn.pending_approval == []
    assert "分解" in turn.reply
    assert [entry.decision for entry in list_audit(ctx.engine)] == ["auto"]
