"""A customer's or a district's load curve of one day, against its baseline, as numbers and a chart."""

from __future__ import annotations

import numpy as np
from sqlmodel import Session

from sim_grid import read_clock
from sim_grid.events import event_on
from sim_grid.loads import actual_curves, baselines
from tools.charts import plot_load_chart
from tools.context import ToolContext
from tools.contract import GetLoadCurveArgs
from tools.errors import ToolError
from tools.lookup import customer_with_id, day_of, district_named
from tools.text import day_label, interval_time, number, window_label


def get_load_curve(args: GetLoadCurveArgs, ctx: ToolContext) -> dict:
    """Return one day's actual load up to the clock with its baseline, and draw both."""
    settings = ctx.settings
    with ctx.session() as session:
        if args.user_id:
            customer = customer_with_id(session, args.user_id)
            level, owner_id, unit = "customer", customer.id, "kW"
            label, slug = f"用户{customer.user_id}在", f"user_{customer.user_id}"
        elif args.district:
            district = district_named(session, args.district)
            level, owner_id, unit = "district", district.id, "MW"
            label, slug = f"{district.name}在", f"district_{district.id}"
        else:
            raise ToolError("请提供用户编号或区域名称，才能查看负荷曲线。")

        day = day_of(session, args.date)
        now = read_clock(session)
        actual = actual_curves(session, level, [owner_id], day, now, settings).get(owner_id)
        if actual is None:
            raise ToolError(f"没有{label}{day_label(day)}的负荷数据。")
        baseline = baselines(session, level, [owner_id], day, settings).get(owner_id)
        event = event_on(session, day)
        window = (event.start_interval, event.end_interval) if event else None

    known = int(np.sum(~np.isnan(actual)))
    if known == 0:
        raise ToolError(f"{label}{day_label(day)}还没有实际负荷数据。")

    chart = plot_load_chart(
        ctx.chart_dir() / f"load_{slug}_{day.isoformat()}.png",
        baseline,
        actual,
        unit,
        f"{label}{day_label(day)}负荷曲线",
        window,
        settings.interval_minutes,
    )
    peak = int(np.nanargmax(actual))
    summary = f"{label}{day_label(day)}负荷曲线已生成：最高负荷{number(actual[peak])}{unit}（{interval_time(peak, settings)}）"
    result = {"date": day.isoformat(), "unit": unit, "known_intervals": known,
              "peak_load": round(float(actual[peak]), 1), "peak_time": interval_time(peak, settings),
              "actual": [None if np.isnan(v) else round(float(v), 2) for v in actual],
              "baseline": [round(float(v), 2) for v in baseline] if baseline is not None else None,
              "chart_path": str(chart)}
    if window is not None:
        start, end = window
        seen = actual[start:end][~np.isnan(actual[start:end])]
        if seen.size:
            result["window"] = window_label(start, end, settings)
            result["window_avg_load"] = round(float(seen.mean()), 1)
            summary += f"，响应时段{result['window']}平均负荷{number(seen.mean())}{unit}"
            if baseline is not None:
                result["window_baseline_avg"] = round(float(baseline[start:end].mean()), 1)
                summary += f"（基线{number(result['window_baseline_avg'])}{unit}）"
    summary += "。" + ("是否查看执行情况？" if args.user_id else "")
    return {"ok": True, "summary": summary, **result}
