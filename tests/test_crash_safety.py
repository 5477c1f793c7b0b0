"""Pending approvals survive a process restart, and concurrent sends produce one batch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

from sqlmodel import Session, func, select

from agent.http_backend import OpenAICompatibleChatModel
from agent.session import AgentSession
from sim_grid import open_city
from sim_grid.models import SmsOutbox
from tests.test_graph_http import ScriptedModelServer, _call
from tools import ToolContext, call_tool

CHILD = textwrap.dedent(
    """
    import os, sys
    from agent.http_backend import OpenAICompatibleChatModel
    from agent.session import AgentSession
    from sim_grid import open_city
    from tools import ToolContext

    db, checkpoints, url = sys.argv[1:4]
    session = AgentSession(ToolContext(open_city(db)), OpenAICompatibleChatModel(base_url=url), thread_id="t1", checkpoint_path=checkpoints)
    turn = session.send("给城南区发需求响应通知")
    assert turn.pending_approval, turn.reply
    print("PENDING", flush=True)
    os._exit(9)  # die without closing anything, as a killed process would
    """
)


def _outbox_count(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(SmsOutbox)).one()


def test_pending_approval_survives_restart(demo_db, tmp_path):
    ctx = ToolContext(open_city(demo_db))
    assert call_tool("decompose_deficit", {"gap_mw": 40}, ctx)["ok"]
    checkpoints = tmp_path / "conversations.db"

    with ScriptedModelServer([_call("send_dr_notification", {"district": "城南区"})]) as server:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(demo_db), str(checkpoints), server.url],
            capture_output=True,
            text=True,
            timeout=300,
            env=dict(os.environ),
        )
    assert child.returncode == 9, child.stderr
    assert "PENDING" in child.stdout
    assert _outbox_count(ctx.engine) == 0

    restarted = AgentSession(ctx, OpenAICompatibleChatModel(base_url="http://127.0.0.1:9/v1"), thread_id="t1", checkpoint_path=checkpoints)
    assert len(restarted.pending()) == 1
    done = restarted.resume(approved=True)
    again = call_tool("send_dr_notification", {"district": "城南区"}, ctx)

    assert done.sms_sent == 128
    assert again["sent"] == 0
    assert _outbox_count(ctx.engine) == 128


def test_concurrent_notifications_send_one_batch(demo_db):
    ctx = ToolContext(open_city(demo_db))
    assert call_tool("decompose_deficit", {"gap_mw": 40}, ctx)["ok"]
    results: list[dict] = []

    def notify():
        results.append(call_tool("send_dr_notification", {"district": "城南区"}, ToolContext(open_city(demo_db))))

    threads = [threading.Thread(target=notify) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(results) == 2
    assert sum(result.get("sent", 0) for result in results) == 128
    assert _outbox_count(ctx.engine) == 128
