"""Latency of agent turns on this machine: model load, then p50/p95 per turn over repeated runs.

Each round replays the seven specification questions, each in a fresh conversation on a fresh
copy of the demo city (as ``dr-agent ask`` does), and records the wall time of the whole turn
(model decision, tool, reply) and of the model decision alone.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

QUESTIONS = [
    "明天会有负荷缺口吗？需要启动需求响应吗？",
    "帮我将明天的40MW负荷缺口按平均值法分解到各区域",
    "发送需求响应通知给城南区的所有签约用户",
    "统计一下有多少用户回复参与明天的需求响应",
    "查看用户603954的响应执行情况",
    "对未达标的用户发送监督短信",
    "生成明天需求响应的执行效果报告",
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run_benchmark(rounds: int = 3, base_model: str | None = None, adapter: str | None = "default") -> dict:
    from agent.chat_model import make_local_chat_model
    from agent.policy import LocalPolicy
    from agent.session import AgentSession, world_facts_of
    from sim_grid import create_city, open_city
    from tools import ToolContext

    started = time.perf_counter()
    policy = LocalPolicy(base_model, adapter)
    load_seconds = time.perf_counter() - started

    turn_seconds: list[float] = []
    tool_turn_seconds: list[float] = []
    model_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dr-bench-") as folder:
        template = Path(folder) / "demo.db"
        create_city(template).dispose()
        for round_index in range(rounds):
            for index, question in enumerate(QUESTIONS):
                db = Path(folder) / f"r{round_index}q{index}.db"
                shutil.copyfile(template, db)
                ctx = ToolContext(open_city(db), output_dir=Path(folder) / "charts")
                session = AgentSession(ctx, make_local_chat_model(policy, world_facts_of(ctx)))
                turn = session.send(question)
                session.close()
                ctx.engine.dispose()
                turn_seconds.append(turn.seconds)
                model_seconds.append(turn.model_seconds)
                if turn.tool_calls:
                    tool_turn_seconds.append(turn.seconds)

    return {
        "model_load_seconds": round(load_seconds, 2),
        "turns": len(turn_seconds),
        "turn_p50_seconds": round(statistics.median(turn_seconds), 3),
        "turn_p95_seconds": round(_percentile(turn_seconds, 0.95), 3),
        "tool_turn_p50_seconds": round(statistics.median(tool_turn_seconds), 3) if tool_turn_seconds else None,
        "model_decision_p50_seconds": round(statistics.median(model_seconds), 3),
        "adapter": policy.adapter_path,
    }
