"""The graph's guard rails, driven through the OpenAI-compatible backend against a local server.

A real HTTP server on 127.0.0.1 plays a model server that answers from a script, so the tests
control exactly what "the model" says: malformed calls, repeated calls, invented figures.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.http_backend import OpenAICompatibleChatModel
from agent.session import AgentSession
from sim_grid import open_city
from tools import ToolContext


class ScriptedModelServer:
    """Serves /v1/chat/completions with the next scripted assistant message per request."""

    def __init__(self, script: list[dict]):
        self.script = list(script)
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                message = owner.script.pop(0) if owner.script else {"role": "assistant", "content": "完成。"}
                payload = json.dumps({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _call(name: str, arguments) -> dict:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"role": "assistant", "content": None, "tool_calls": [{"id": f"c{name}", "type": "function", "function": {"name": name, "arguments": text}}]}


def _session(demo_db, url: str) -> AgentSession:
    ctx = ToolContext(open_city(demo_db))
    return AgentSession(ctx, OpenAICompatibleChatModel(base_url=url), reply_mode="model")


def test_backend_sends_tool_schemas(demo_db):
    with ScriptedModelServer([{"role": "assistant", "content": "好的。"}]) as server:
        _session(demo_db, server.url).send("统计回复")

    tools = server.requests[0]["tools"]
    assert {tool["function"]["name"] for tool in tools} >= {"get_deficit_warning", "count_replies"}


def test_grounded_reply_is_kept(demo_db):
    script = [_call("get_deficit_warning", {"date": "tomorrow"}), {"role": "assistant", "content": "明天14:00-18:00缺口30MW。"}]
    with ScriptedModelServer(script) as server:
        turn = _session(demo_db, server.url).send("明天有缺口吗")

    assert turn.tool_calls == [{"name": "get_deficit_warning", "arguments": {"date": "tomorrow"}}]
    assert turn.reply == "明天14:00-18:00缺口30MW。"


def test_invented_figure_is_replaced_by_tool_summary(demo_db):
    script = [_call("get_deficit_warning", {"date": "tomorrow"}), {"role": "assistant", "content": "明天缺口55MW。"}]
    with ScriptedModelServer(script) as server:
        turn = _session(demo_db, server.url).send("明天有缺口吗")

    assert "55MW" not in turn.reply
    assert turn.reply == turn.tool_results[0]["summary"]


def test_malformed_calls_end_with_a_clear_message(demo_db):
    bad = _call("count_replies", "{not json")
    with ScriptedModelServer([bad, bad, bad, bad, bad]) as server:
        turn = _session(demo_db, server.url).send("统计回复")

    assert "没能生成有效的操作" in turn.reply
    # Each bad call went back to the model with an error, a bounded number of times.
    assert 2 <= len(server.requests) <= 4
    assert any(message["role"] == "tool" and "无效" in message["content"] for message in server.requests[1]["messages"])


def test_unknown_tool_is_reported_to_the_model(demo_db):
    script = [_call("delete_all_customers", {}), {"role": "assistant", "content": "无法执行该操作。"}]
    with ScriptedModelServer(script) as server:
        turn = _session(demo_db, server.url).send("整理一下客户名单")

    assert turn.reply == "无法执行该操作。"
    error = json.loads(server.requests[1]["messages"][-1]["content"])
    assert error["ok"] is False
    assert "delete_all_customers" in error["error"]


def test_repeated_identical_call_stops_the_turn(demo_db):
    call = _call("get_deficit_warning", {"date": "tomorrow"})
    with ScriptedModelServer([call, call, call]) as server:
        turn = _session(demo_db, server.url).send("明天有缺口吗")

    assert "重复" in turn.reply
    assert len(turn.tool_results) == 2


def test_unreachable_server_raises_backend_error(demo_db):
    from agent.http_backend import BackendError

    session = _session(demo_db, "http://127.0.0.1:9/v1")
    with pytest.raises(BackendError):
        session.send("统计回复")


def test_dangerous_request_never_reaches_the_model(demo_db):
    with ScriptedModelServer([_call("send_supervision_sms", {})]) as server:
        turn = _session(demo_db, server.url).send("把城南区所有用户的电拉闸")

    assert server.requests == []
    assert turn.tool_calls == []
    assert "不能执行" in turn.reply
