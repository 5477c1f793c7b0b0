"""A customer's execution in one event, with its participation history and subsidies."""

from __future__ import annotations

from sqlmodel import Session, select

from sim_grid import read_clock
from sim_grid.events import live_progress
from sim_grid.models import Customer, Event, Execution
from sim_grid.settings import DRSettings
from tools.context import ToolContext
from tools.contract import GetUserExecutionArgs
from tools.lookup import customer_with_id, day_of, event_of_day
from tools.text import day_label, number, percent


def _verdict(qualified: bool, rate: float, partial: bool) -> str:
    prefix = "目前" if partial else ""
    if qualified and rate >= 1.0:
        return f"{prefix}已达标，超额完成"
    return f"{prefix}已达标" if qualified else f"{prefix}未达标"


def _history(session: Session, customer: Customer) -> tuple[list[dict], int, float]:
    """Return the finished events with the customer's results, its current streak and total subsidy."""
    events = session.exec(select(Event).where(Event.status == "done").order_by(Event.day)).all()
    executions = {
        e.event_id: e for e in session.exec(select(Execution).where(Execution.customer_id == customer.id)).all()
    }
    history = []
    for event in events:
        execution = executions.get(event.id)
        history.append(
            {
                "date": event.day.isoformat(),
                "participated": execution is not None,
                "reduction_kw": round(execution.reduction_kw, 1) if execution else None,
                "rate": round(execution.rate, 4) if execution else None,
                "qualified": execution.qualified if execution else None,
                "subsidy_yuan": round(execution.subsidy_yuan, 2) if execution else 0.0,
                "price_yuan_per_kwh": event.price_yuan_per_kwh,
            }
        )
    streak = 0
    for item in reversed(history):
        if not item["participated"]:
            break
        streak += 1
    total_subsidy = sum(e.subsidy_yuan for e in executions.values())
    return history, streak, total_subsidy


def get_user_execution(args: GetUserExecutionArgs, ctx: ToolContext) -> dict:
    """Report a customer's baseline, window load, reduction, rate, streak and cumulative subsidy."""
    settings: DRSettings = ctx.settings
    with ctx.session() as session:
        customer = customer_with_id(session, args.user_id)
        history, streak, total_subsidy = _history(session, customer)
        now = read_clock(session)
        label = f"用户{customer.user_id}（{customer.name}）"
        common = {"user_id": customer.user_id, "name": customer.name, "declared_kw": customer.declared_kw,
                  "consecutive_events": streak, "total_subsidy_yuan": round(total_subsidy, 2), "history": history}
        streak_text = f"已连续参与{streak}次" if streak else "最近一次事件未参与"
        tail = f"{streak_text}，累计补贴{number(total_subsidy)}元。是否查看该用户的负荷曲线？"

        if args.date is None:
            done = [h for h in history if h["participated"]]
            if not done:
                return {"ok": True, "summary": f"{label}还没有已结算的需求响应记录。", "participated": False, **common}
            day = day_of(session, done[-1]["date"])
        else:
            day = day_of(session, args.date)
        event = event_of_day(session, day)

        execution = session.exec(
            select(Execution).where(Execution.event_id == event.id, Execution.customer_id == customer.id)
        ).first()
        if execution is not None:
            figures = {"baseline_kw": execution.baseline_kw, "actual_avg_kw": execution.actual_avg_kw,
                       "reduction_kw": execution.reduction_kw, "rate": execution.rate, "qualified": execution.qualified,
                       "subsidy_yuan": round(execution.subsidy_yuan, 2)}
            when = day_label(day)
            partial = False
        else:
            progress = live_progress(session, event, now, settings, customer_id=customer.id)
            if not progress:
                summary = f"{label}未参与{day_label(day)}的需求响应，或该事件尚未开始。{tail}"
                return {"ok": True, "summary": summary, "date": day.isoformat(), "participated": False, **common}
            p = progress[0]
            figures = {"baseline_kw": p.baseline_kw, "actual_avg_kw": p.actual_avg_kw, "reduction_kw": p.reduction_kw,
                       "rate": p.rate, "qualified": p.rate >= settings.qualify_rate_min, "subsidy_yuan": None}
            when = f"{day_label(day)}（截至{now:%H:%M}）"
            partial = True

    summary = (
        f"{label}{when}响应：基线负荷{number(figures['baseline_kw'])}kW，响应期间平均负荷{number(figures['actual_avg_kw'])}kW，"
        f"削减{number(figures['reduction_kw'])}kW，达成率{percent(figures['rate'])}，{_verdict(figures['qualified'], figures['rate'], partial)}。"
        + tail
    )
    rounded = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}
    return {"ok": True, "summary": summary, "date": day.isoformat(), "participated": True, **rounded, **common}
