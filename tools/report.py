"""The execution-effect report of a finished event, and sending it to the responsible people."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlmodel import Session, select

from sim_grid import read_clock
from sim_grid.events import event_end, settled_totals
from sim_grid.models import Event, Execution
from sim_grid.settings import DRSettings
from sms_gateway import OutgoingSms
from tools.charts import plot_load_chart
from tools.context import ToolContext
from tools.contract import GenerateEffectReportArgs, SendReportArgs
from tools.errors import ToolError
from tools.lookup import day_of, event_of_day
from tools.sms_delivery import delivery_fields, delivery_notes, send_messages
from tools.text import day_label, interval_time, number, percent, window_label

PHONE_PATTERN = re.compile(r"^\+?\d{6,15}$")


@dataclass
class ReportFigures:
    day: date
    target_mw: float
    reduction_mw: float
    rate: float
    participants: int
    qualified: int
    qualified_share: float
    window: str
    peak_time: str
    peak_reduction_mw: float
    subsidy_yuan: float
    baseline_total_mw: np.ndarray
    actual_total_mw: np.ndarray
    window_intervals: tuple[int, int]


def _finished_event(session: Session, day: date, settings: DRSettings) -> Event:
    event = event_of_day(session, day)
    if event.status != "done" or read_clock(session) < event_end(event, settings):
        end = interval_time(event.end_interval, settings)
        raise ToolError(f"{day_label(day)}的需求响应尚未结束（{end}结束），结束后才能生成效果报告。")
    return event


def report_figures(session: Session, day: date, settings: DRSettings) -> ReportFigures:
    """Aggregate a finished event: reductions are participants' baseline minus actual load."""
    event = _finished_event(session, day, settings)
    # Columns rather than ORM objects: a province-sized event settles thousands of rows.
    executions = session.exec(
        select(Execution.customer_id, Execution.reduction_kw, Execution.qualified, Execution.subsidy_yuan).where(
            Execution.event_id == event.id
        )
    ).all()
    ids = [e.customer_id for e in executions]
    baseline_total, actual_total = settled_totals(session, event, settings)

    start, end = event.start_interval, event.end_interval
    reduction_per_interval = baseline_total[start:end] - actual_total[start:end]
    peak = int(np.argmax(reduction_per_interval)) if ids else 0
    reduction_mw = sum(e.reduction_kw for e in executions) / 1000
    qualified = sum(1 for e in executions if e.qualified)
    return ReportFigures(
        day=day,
        target_mw=event.target_mw,
        reduction_mw=reduction_mw,
        rate=reduction_mw / event.target_mw if event.target_mw > 0 else 0.0,
        participants=len(executions),
        qualified=qualified,
        qualified_share=qualified / len(executions) if executions else 0.0,
        window=window_label(start, end, settings),
        peak_time=interval_time(start + peak, settings),
        peak_reduction_mw=float(reduction_per_interval[peak]) if ids else 0.0,
        subsidy_yuan=sum(e.subsidy_yuan for e in executions),
        baseline_total_mw=baseline_total,
        actual_total_mw=actual_total,
        window_intervals=(start, end),
    )


def report_text(figures: ReportFigures) -> str:
    return (
        f"{day_label(figures.day)}需求响应效果：目标削减{number(figures.target_mw)}MW，实际削减{number(figures.reduction_mw)}MW，"
        f"达成率{percent(figures.rate)}；参与{figures.participants}户，达标{figures.qualified}户（{percent(figures.qualified_share)}）；"
        f"响应时段{figures.window}，{figures.peak_time}削减最大（{number(figures.peak_reduction_mw)}MW）。"
    )


def generate_effect_report(args: GenerateEffectReportArgs, ctx: ToolContext) -> dict:
    """Summarise a finished event against its target and chart participants' total load."""
    settings = ctx.settings
    with ctx.session() as session:
        day = day_of(session, args.date)
        figures = report_figures(session, day, settings)

    chart = plot_load_chart(
        ctx.chart_dir() / f"report_{day.isoformat()}.png",
        figures.baseline_total_mw,
        figures.actual_total_mw,
        "MW",
        f"{day_label(day)}需求响应：参与用户总负荷",
        figures.window_intervals,
        settings.interval_minutes,
    )
    return {
        "ok": True,
        "summary": report_text(figures) + "报告图已生成，是否发送给相关负责人？",
        "date": day.isoformat(),
        "target_mw": figures.target_mw,
        "actual_reduction_mw": round(figures.reduction_mw, 1),
        "achievement_rate": round(figures.rate, 4),
        "participants": figures.participants,
        "qualified": figures.qualified,
        "qualified_share": round(figures.qualified_share, 4),
        "window": figures.window,
        "peak_reduction_time": figures.peak_time,
        "peak_reduction_mw": round(figures.peak_reduction_mw, 1),
        "subsidy_yuan": round(figures.subsidy_yuan, 2),
        "chart_path": str(chart),
    }


def _recipients(names: list[str] | None, settings: DRSettings) -> list[tuple[str, str]]:
    """Return (name, phone) pairs: configured people by name, or phone numbers as given."""
    if not names:
        return [(p.name, p.phone) for p in settings.report_recipients]
    known = {p.name: p.phone for p in settings.report_recipients}
    result = []
    for name in names:
        name = name.strip()
        if name in known:
            result.append((name, known[name]))
        elif PHONE_PATTERN.match(name):
            result.append((name, name if name.startswith("+") else f"+86{name}"))
        else:
            choices = "、".join(known)
            raise ToolError(f"未找到接收人“{name}”，可选负责人：{choices}，也可直接填写手机号。")
    return result


def send_report(args: SendReportArgs, ctx: ToolContext) -> dict:
    """Send a finished event's report text to the responsible people by SMS."""
    settings = ctx.settings
    with ctx.session() as session:
        day = day_of(session, args.date)
        figures = report_figures(session, day, settings)
        event = event_of_day(session, day)
        recipients = _recipients(args.recipients, settings)
        now = read_clock(session)
        text = "【需求响应报告】" + report_text(figures)
        messages = [
            OutgoingSms(kind="report", text=text, phone=phone, event_id=event.id, recipient_name=name)
            for name, phone in recipients
        ]
        report = send_messages(ctx, session, messages, now)
        sent = [name for (name, _), outcome in zip(recipients, report.outcomes) if outcome == "sent"]
        already = report.count("already_sent")

    names = "、".join(name for name, _ in recipients)
    if len(sent) == len(recipients):
        summary = f"已把{day_label(day)}执行效果报告发送给{names}。"
    elif sent and len(sent) + already == len(recipients):
        summary = f"已把{day_label(day)}执行效果报告发送给{'、'.join(sent)}，其余接收人此前已收到，未重复发送。"
    elif sent:
        summary = f"已把{day_label(day)}执行效果报告发送给{'、'.join(sent)}。"
    elif already == len(recipients):
        summary = f"{names}此前已收到{day_label(day)}执行效果报告，本次未重复发送。"
    else:
        summary = f"本次未能发出{day_label(day)}执行效果报告。"
    return {"ok": True, "summary": summary + delivery_notes(report, settings), "date": day.isoformat(),
            "recipients": names.split("、"), "sent": len(sent), **delivery_fields(report)}
