"""Measure how the simulator scales: province build time and tool latency at several sizes.

    python -m tools.benchmark --customers 1000 5000 20000

For each size it builds a province-sized base (sim_grid.city.province) in a SQLite file. It
then plays one event day through the tools. The day before brings the warning, the split and
invitations to every district, 17:00 the replies, the event supervision, and its end the
report. Read tools are called --repeats times at each stage, and tools that send are called
once per district. It prints a Markdown table of build time, file size and per-tool p50/p95
latency, with the median CPU time of this process beside the wall-clock times.

This development script lives in tools because it times the tools on the simulator.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from sim_grid.city import create_province
from sim_grid.clock import read_clock
from sim_grid.models import Customer, District, Event, Execution
from sim_grid.timeline import advance_clock


class Timings:
    """Latency samples (seconds) per tool: wall-clock time and the CPU time of this process.

    On a machine shared with other work the wall-clock time grows with the load, while the
    CPU time stays near the call's own computing cost. It leaves out waits for the disk.
    """

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.cpu_samples: dict[str, list[float]] = defaultdict(list)

    def call(self, ctx, label: str, name: str, **arguments) -> dict:
        from tools import call_tool

        with self.measure(label):
            result = call_tool(name, arguments, ctx)
        if not result["ok"]:
            raise RuntimeError(f"{name}({arguments}) failed: {result['error']}")
        return result

    @contextmanager
    def measure(self, label: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        yield
        self.samples[label].append(time.perf_counter() - start)
        self.cpu_samples[label].append(time.process_time() - cpu_start)

    def percentiles_ms(self, label: str) -> tuple[float, float, float, int]:
        """Return the wall-clock p50 and p95, the CPU p50 (all in ms) and the sample count."""
        values = sorted(self.samples[label])
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        cpu_p50 = statistics.median(self.cpu_samples[label])
        return statistics.median(values) * 1000, p95 * 1000, cpu_p50 * 1000, len(values)


def play_event_day(engine, chart_dir: Path, repeats: int, seed: int = 0) -> Timings:
    """Call every tool through one event day and return their latencies."""
    from tools import ToolContext

    ctx = ToolContext(engine, output_dir=chart_dir)
    timings = Timings()
    rng = random.Random(seed)
    with Session(engine) as session:
        districts = list(session.exec(select(District.name).order_by(District.id)).all())
        settled = list(session.exec(select(Customer.user_id).join(Execution, Execution.customer_id == Customer.id).distinct()).all())

    # The day before, 09:00: warning, split, curves, histories, invitations.
    for _ in range(repeats):
        warning = timings.call(ctx, "get_deficit_warning", "get_deficit_warning", date="tomorrow")
    for i in range(repeats):
        method = ("capacity", "equal", "history", "mean")[i % 4]
        timings.call(ctx, "decompose_deficit (districts)", "decompose_deficit", gap_mw=warning["peak_gap_mw"], method=method)
    split = timings.call(ctx, "decompose_deficit (districts)", "decompose_deficit", gap_mw=warning["peak_gap_mw"])
    shares = {a["name"]: a["target_mw"] for a in split["allocations"]}
    for i in range(repeats):
        district = districts[i % len(districts)]
        timings.call(ctx, "decompose_deficit (stations)", "decompose_deficit", gap_mw=shares[district], level="station", district=district)
    for _ in range(repeats):
        timings.call(ctx, "get_user_execution (history)", "get_user_execution", user_id=rng.choice(settled))
        timings.call(ctx, "get_load_curve (customer)", "get_load_curve", user_id=rng.choice(settled), date="yesterday")
        timings.call(ctx, "get_load_curve (district)", "get_load_curve", district=rng.choice(districts), date="yesterday")
    for district in districts:
        timings.call(ctx, "send_dr_notification (per district)", "send_dr_notification", district=district)
    for _ in range(repeats):
        timings.call(ctx, "get_sms_status", "get_sms_status", date="tomorrow")

    # 17:00 the day before: replies, reminders.
    now = read_clock(engine)
    advance_clock(engine, to=now.replace(hour=17, minute=0))
    for i in range(repeats):
        district = None if i % 2 == 0 else districts[i % len(districts)]
        timings.call(ctx, "count_replies", "count_replies", date="tomorrow", district=district)
    for district in districts:
        timings.call(ctx, "send_followup_notice (per district)", "send_followup_notice", district=district)

    # One hour into the event: live progress and supervision.
    with Session(engine) as session:
        event = session.exec(select(Event).order_by(Event.day.desc())).first()
    event_start = datetime.combine(event.day, datetime.min.time()) + timedelta(minutes=15 * event.start_interval)
    event_end = datetime.combine(event.day, datetime.min.time()) + timedelta(minutes=15 * event.end_interval)
    advance_clock(engine, to=event_start + timedelta(hours=1))
    for i in range(repeats):
        district = None if i % 2 == 0 else districts[i % len(districts)]
        timings.call(ctx, "list_underperformers (live)", "list_underperformers", date="today", district=district)
        timings.call(ctx, "get_user_execution (live)", "get_user_execution", user_id=rng.choice(settled), date="today")
        timings.call(ctx, "get_load_curve (district)", "get_load_curve", district=rng.choice(districts), date="today")
    for district in districts:
        timings.call(ctx, "send_supervision_sms (per district)", "send_supervision_sms", date="today", district=district)

    # After the event: settlement runs inside the clock move.
    with timings.measure("settle event (advance_clock)"):
        advance_clock(engine, to=event_end + timedelta(minutes=30))
    for _ in range(repeats):
        timings.call(ctx, "generate_effect_report", "generate_effect_report", date="today")
        timings.call(ctx, "list_underperformers (settled)", "list_underperformers", date="today")
        timings.call(ctx, "send_report", "send_report", date="today")
    return timings


def machine_line() -> str:
    """Describe the CPU, memory and software the numbers were measured with."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        total_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        memory = f"{total_kb / 1024**2:.0f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, 1-minute load average {os.getloadavg()[0]:.1f} at the end of the run"
    )


def markdown_table(sizes: list[int], builds: dict[int, tuple[float, float, float]], results: dict[int, Timings]) -> str:
    header = "| | " + " | ".join(f"{n:,} customers" for n in sizes) + " |"
    lines = [header, "|---" * (len(sizes) + 1) + "|"]
    lines.append("| build, s wall / CPU | " + " | ".join(f"{builds[n][0]:.0f} / {builds[n][1]:.0f}" for n in sizes) + " |")
    lines.append("| SQLite file (MB) | " + " | ".join(f"{builds[n][2]:.0f}" for n in sizes) + " |")
    labels = list(results[sizes[0]].samples)
    for label in labels:
        cells = []
        for n in sizes:
            p50, p95, cpu_p50, count = results[n].percentiles_ms(label)
            cells.append(f"{p50:.0f} / {p95:.0f} / {cpu_p50:.0f} (n={count})")
        lines.append(f"| {label}, ms p50 / p95 / CPU p50 | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 5000, 20000], help="base sizes to measure")
    parser.add_argument("--days", type=int, default=60, help="days of 15-minute history per customer")
    parser.add_argument("--repeats", type=int, default=15, help="calls per read tool at each stage")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated bases")
    parser.add_argument("--folder", type=Path, default=None, help="where the bases are written (default: a temporary folder)")
    args = parser.parse_args(argv)

    folder = args.folder or Path(tempfile.mkdtemp(prefix="dr-benchmark-"))
    folder.mkdir(parents=True, exist_ok=True)
    builds: dict[int, tuple[float, float, float]] = {}
    results: dict[int, Timings] = {}
    for customers in args.customers:
        path = folder / f"province_{customers}.db"
        start, cpu_start = time.perf_counter(), time.process_time()
        engine = create_province(path, seed=args.seed, customers=customers, history_days=args.days, overwrite=True)
        builds[customers] = (time.perf_counter() - start, time.process_time() - cpu_start, path.stat().st_size / 1024**2)
        print(f"built {customers} customers in {builds[customers][0]:.1f} s", file=sys.stderr)
        results[customers] = play_event_day(engine, folder / "charts", args.repeats)
        engine.dispose()

    print(f"Command: python -m tools.benchmark --customers {' '.join(map(str, args.customers))} --days {args.days} --repeats {args.repeats}")
    print(f"Machine: {machine_line()}\n")
    print(markdown_table(args.customers, builds, results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
