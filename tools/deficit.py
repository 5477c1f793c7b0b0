"""Deficit warning and its decomposition into district or station targets."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlmodel import Session, col, select

from sim_grid.db import decode_curve
from sim_grid.events import event_on
from sim_grid.decomposition import part_weights
from sim_grid.models import Allocation, District, Event, Station, SystemForecast
from sim_grid.rules import DeficitWindow, deficit_per_interval, find_deficit_window, largest_remainder_split
from sim_grid.settings import DRSettings
from tools.context import ToolContext
from tools.contract import DecomposeDeficitArgs, GetDeficitWarningArgs
from tools.errors import ToolError
from tools.lookup import all_districts, day_of, district_named
from tools.text import day_label, interval_time, number, window_label

METHOD_NAMES = {"mean": "平均值法", "capacity": "按签约容量", "equal": "平均分配", "history": "按历史响应"}


def _forecast(session: Session, day: date) -> SystemForecast:
    forecast = session.exec(select(SystemForecast).where(SystemForecast.day == day)).first()
    if forecast is None:
        raise ToolError(f"没有{day_label(day)}的负荷预测数据，无法判断缺口。")
    return forecast


def _deficit(session: Session, day: date, settings: DRSettings) -> tuple[SystemForecast, np.ndarray, DeficitWindow | None]:
    forecast = _forecast(session, day)
    gap = deficit_per_interval(decode_curve(forecast.forecast_mw), decode_curve(forecast.supply_mw), settings.reserve_margin_mw)
    return forecast, gap, find_deficit_window(gap)


def get_deficit_warning(args: GetDeficitWarningArgs, ctx: ToolContext) -> dict:
    """Report the deficit window, its peak and duration for a day, and whether to start DR."""
    settings = ctx.settings
    with ctx.session() as session:
        day = day_of(session, args.date)
        forecast, gap, window = _deficit(session, day, settings)
        forecast_peak_mw = float(decode_curve(forecast.forecast_mw).max())

    if window is None:
        margin_mw = float(-gap.max())
        summary = f"{day_label(day)}预测负荷加备用后仍在可用供电能力之内，最小裕度{number(margin_mw)}MW，无需启动需求响应。"
        return {"ok": True, "summary": summary, "date": day.isoformat(), "has_deficit": False,
                "recommend_demand_response": False, "min_margin_mw": round(margin_mw, 1),
                "forecast_peak_mw": round(forecast_peak_mw, 1)}

    hours = (window.end_interval - window.start_interval) * settings.interval_minutes / 60
    label = window_label(window.start_interval, window.end_interval, settings)
    summary = (
        f"{day_label(day)}{label}预计出现负荷缺口，最大缺口{number(window.peak_mw)}MW"
        f"（{interval_time(window.peak_interval, settings)}），持续{number(hours, 2)}小时，建议启动需求响应。"
        "是否按缺口分解到各区域？"
    )
    return {
        "ok": True,
        "summary": summary,
        "date": day.isoformat(),
        "has_deficit": True,
        "recommend_demand_response": True,
        "window": label,
        "start_interval": window.start_interval,
        "end_interval": window.end_interval,
        "peak_gap_mw": round(window.peak_mw, 1),
        "peak_time": interval_time(window.peak_interval, settings),
        "duration_hours": hours,
        "forecast_peak_mw": round(forecast_peak_mw, 1),
    }


def _event_window(session: Session, day: date, settings: DRSettings) -> tuple[int, int]:
    """Return the window of the day's event, or else of its forecast deficit."""
    event = event_on(session, day)
    if event is not None:
        return event.start_interval, event.end_interval
    _, _, window = _deficit(session, day, settings)
    if window is None:
        raise ToolError(f"{day_label(day)}预测没有负荷缺口，无法确定响应时段，暂不能分解。")
    return window.start_interval, window.end_interval


def _check_gap(session: Session, day: date, gap_mw: float, settings: DRSettings) -> None:
    if gap_mw <= 0:
        raise ToolError(f"缺口应为正数（MW），收到的是{number(gap_mw)}。")
    forecast = session.exec(select(SystemForecast).where(SystemForecast.day == day)).first()
    if forecast is not None:
        limit = settings.max_gap_peak_ratio * float(decode_curve(forecast.forecast_mw).max())
        if gap_mw > limit:
            raise ToolError(f"缺口{number(gap_mw)}MW超过全市预测最大负荷的{number(settings.max_gap_peak_ratio)}倍，请核对数值。")


def _weights(session: Session, level: str, ids: list[int], method: str, day: date, window: tuple[int, int], settings: DRSettings) -> list[float]:
    weights = part_weights(session, level, ids, method, day, window, settings)
    if method == "mean" and any(np.isnan(w) for w in weights):
        raise ToolError("缺少部分区域的历史负荷数据，无法使用平均值法，请改用 capacity 或 equal 方法。")
    if method == "history" and sum(weights) <= 0:
        raise ToolError("此前没有已结算的需求响应记录，无法按历史响应分解，请改用 mean、capacity 或 equal 方法。")
    return weights


def _upsert_event(session: Session, day: date, window: tuple[int, int], target_mw: float | None, settings: DRSettings) -> Event:
    event = event_on(session, day)
    if event is None:
        # NOTE: a station-level split that creates the event leaves its target at 0 MW
        # until a district-level split sets it.
        event = Event(day=day, start_interval=window[0], end_interval=window[1], target_mw=target_mw or 0.0,
                      price_yuan_per_kwh=settings.default_price_yuan_per_kwh, status="planned",
                      baseline_method=settings.default_baseline_method)
    elif event.status in ("running", "done"):
        raise ToolError(f"{day_label(day)}的需求响应已经开始或结束，不能再分解缺口。")
    elif target_mw is not None:
        event.target_mw = target_mw
    session.add(event)
    session.flush()
    return event


def decompose_deficit(args: DecomposeDeficitArgs, ctx: ToolContext) -> dict:
    """Split a gap across districts, or a district's share across its stations, and store it."""
    settings = ctx.settings
    with ctx.session() as session:
        day = day_of(session, args.date)
        _check_gap(session, day, args.gap_mw, settings)
        window = _event_window(session, day, settings)

        if args.level == "district":
            parts: list[District | Station] = all_districts(session)
            parent = None
        else:
            if not args.district:
                raise ToolError("按供电所分解时需要指定区域，例如 城南区。")
            parent = district_named(session, args.district)
            parts = list(session.exec(select(Station).where(Station.district_id == parent.id).order_by(Station.id)).all())

        weights = _weights(session, args.level, [p.id for p in parts], args.method, day, window, settings)
        if sum(weights) <= 0:
            raise ToolError("所选方法下各部分权重均为0（例如没有签约容量），请换一种分解方法。")
        shares = largest_remainder_split(args.gap_mw, weights)
        total_mw = round(sum(shares), 1)

        event = _upsert_event(session, day, window, total_mw if args.level == "district" else None, settings)
        if args.level == "district":
            stale = select(Allocation).where(Allocation.event_id == event.id, Allocation.station_id == None)  # noqa: E711
        else:
            stale = select(Allocation).where(Allocation.event_id == event.id, col(Allocation.station_id).in_([p.id for p in parts]))
        for allocation in session.exec(stale).all():
            session.delete(allocation)
        for part, share in zip(parts, shares):
            session.add(
                Allocation(
                    event_id=event.id,
                    district_id=part.id if args.level == "district" else parent.id,
                    station_id=part.id if args.level == "station" else None,
                    target_mw=share,
                    method=args.method,
                )
            )
        session.commit()

    listing = "、".join(f"{p.name}{number(s)}MW" for p, s in zip(parts, shares))
    label = window_label(*window, settings)
    method = METHOD_NAMES[args.method]
    if args.level == "district":
        summary = f"已按{method}把{day_label(day)}{number(total_mw)}MW缺口分解到各区域（{label}）：{listing}。是否进一步分解到各供电所？"
    else:
        summary = f"已按{method}把{parent.name}{number(total_mw)}MW分解到各供电所：{listing}。是否向{parent.name}签约用户发送需求响应通知？"
    return {
        "ok": True,
        "summary": summary,
        "date": day.isoformat(),
        "method": args.method,
        "level": args.level,
        "district": parent.name if parent else None,
        "total_mw": total_mw,
        "window": label,
        "allocations": [{"name": p.name, "target_mw": s} for p, s in zip(parts, shares)],
    }
