"""The demo city's showcase figures, reached through call_tool with the stated clock moves.

Every test runs on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from sim_grid import advance_clock
from tests.city_stores import CityStore, city_store  # noqa: F401  (fixture)
from tools import ToolContext, call_tool

NOTIFIED_ALL = datetime(2026, 6, 23, 9, 30)
REPLIES_IN = datetime(2026, 6, 23, 17, 0)
DURING_EVENT = datetime(2026, 6, 24, 15, 0)
AFTER_EVENT = datetime(2026, 6, 24, 18, 30)
DISTRICTS = ("城南区", "城北区", "城东区", "城西区")


def _call(ctx, name, **arguments):
    result = call_tool(name, arguments, ctx)
    assert result["ok"], result
    return result


@dataclass
class Moments:
    """Demo city databases at three moments of the story, and the store that copies them."""

    store: CityStore
    locations: dict[str, str]

    def __getitem__(self, moment: str) -> str:
        return self.locations[moment]


@pytest.fixture(scope="module")
def templates(city_store) -> Moments:
    """Demo cities at three moments of the story, built once per module and database."""
    fresh = city_store.create("fresh")

    engine = city_store.copy(fresh, "during")
    during = city_store.location_of(engine)
    ctx = ToolContext(engine, output_dir=city_store.folder / "charts")
    _call(ctx, "decompose_deficit", gap_mw=40, method="mean")
    advance_clock(engine, to=NOTIFIED_ALL)
    for district in DISTRICTS:
        _call(ctx, "send_dr_notification", district=district)
    advance_clock(engine, to=DURING_EVENT)
    engine.dispose()

    engine = city_store.copy(during, "after")
    after = city_store.location_of(engine)
    advance_clock(engine, to=AFTER_EVENT)
    engine.dispose()
    return Moments(city_store, {"fresh": fresh, "during": during, "after": after})


def _context(templates: Moments, moment, tmp_path) -> ToolContext:
    return ToolContext(templates.store.copy(templates[moment], "city"), output_dir=tmp_path / "charts")


def test_deficit_warning_tomorrow(templates, tmp_path):
    result = _call(_context(templates, "fresh", tmp_path), "get_deficit_warning", date="tomorrow")
    assert result["window"] == "14:00-18:00"
    assert result["peak_gap_mw"] == 30.0
    assert result["duration_hours"] == 4
    assert result["recommend_demand_response"] is True
    for text in ("14:00-18:00", "30MW", "4小时", "是否按缺口分解到各区域？"):
        assert text in result["summary"]


def test_decompose_mean_method_gives_8_12_10_10(templates, tmp_path):
    result = _call(_context(templates, "fresh", tmp_path), "decompose_deficit", gap_mw=40, method="mean")
    shares = {a["name"]: a["target_mw"] for a in result["allocations"]}
    assert shares == {"城南区": 8.0, "城北区": 12.0, "城东区": 10.0, "城西区": 10.0}
    for text in ("城南区8MW", "城北区12MW", "城东区10MW", "城西区10MW", "是否进一步分解到各供电所？"):
        assert text in result["summary"]


def test_decompose_stations_sum_to_district_share(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    result = _call(ctx, "decompose_deficit", gap_mw=8, level="station", district="城南")
    assert len(result["allocations"]) == 3
    assert round(sum(a["target_mw"] for a in result["allocations"]), 6) == 8.0


def test_decompose_again_replaces_allocations(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    _call(ctx, "decompose_deficit", gap_mw=20, method="equal")
    result = _call(ctx, "send_dr_notification", district="城南区")
    assert result["target_mw"] == 5.0


def test_notification_reaches_128_chengnan_customers(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    result = _call(ctx, "send_dr_notification", district="城南区")
    assert result["sent"] == 128
    for text in ("128", "14:00-18:00", "8MW", "0.8元/kWh", "是否查看短信发送状态？"):
        assert text in result["summary"]


def test_notification_is_not_sent_twice(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    _call(ctx, "send_dr_notification", district="城南区")
    again = _call(ctx, "send_dr_notification", district="城南")
    assert again["sent"] == 0
    status = _call(ctx, "get_sms_status", district="城南区")
    assert status["total"] == 128


def test_count_replies_at_17h_gives_84_participants(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    _call(ctx, "send_dr_notification", district="城南区")
    advance_clock(ctx.engine, to=REPLIES_IN)
    result = _call(ctx, "count_replies", date="tomorrow", district="城南区")
    assert result["yes"] == 84
    assert result["invited"] == 128
    assert result["expected_mw"] == pytest.approx(6.72)
    assert result["below_target"] is True
    assert result["yes"] + result["no"] + result["opted_out"] + result["not_replied"] == 128
    for text in ("84", "65.6%", "6.72MW", "8MW", "是否向未回复的用户发送追加通知？"):
        assert text in result["summary"]


def test_count_replies_counts_only_arrived_replies(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    _call(ctx, "send_dr_notification", district="城南区")
    early = _call(ctx, "count_replies", district="城南区")
    assert early["yes"] == 0
    advance_clock(ctx.engine, minutes=120)
    middle = _call(ctx, "count_replies", district="城南区")
    assert 0 < middle["yes"] < 84


def test_user_603954_execution_on_fresh_city(templates, tmp_path):
    result = _call(_context(templates, "fresh", tmp_path), "get_user_execution", user_id="603954")
    assert result["date"] == "2026-06-17"
    assert result["baseline_kw"] == pytest.approx(120, abs=0.05)
    assert result["actual_avg_kw"] == pytest.approx(85, abs=0.05)
    assert result["reduction_kw"] == pytest.approx(35, abs=0.05)
    assert result["rate"] == pytest.approx(35 / 30, abs=1e-3)
    assert result["qualified"] is True
    assert result["consecutive_events"] == 3
    assert result["total_subsidy_yuan"] == pytest.approx(1240, abs=0.5)
    for text in ("120kW", "85kW", "35kW", "116.7%", "3次", "1240元", "是否查看该用户的负荷曲线？"):
        assert text in result["summary"]


def test_user_603954_history_prices_and_subsidies(templates, tmp_path):
    result = _call(_context(templates, "fresh", tmp_path), "get_user_execution", user_id="603954")
    by_date = {h["date"]: h for h in result["history"]}
    assert by_date["2026-05-27"]["participated"] is False
    expected = {"2026-05-13": 288, "2026-06-03": 432, "2026-06-10": 408, "2026-06-17": 112}
    for day, subsidy in expected.items():
        assert by_date[day]["subsidy_yuan"] == pytest.approx(subsidy, abs=0.5), day


def test_supervision_at_15h_finds_12_and_sends_once(templates, tmp_path):
    ctx = _context(templates, "during", tmp_path)
    first = _call(ctx, "send_supervision_sms", date="today")
    assert first["underperformers"] == 12
    assert first["sent"] == 12
    assert "12" in first["summary"]
    assert "是否查看未达标用户明细？" in first["summary"]
    second = _call(ctx, "send_supervision_sms", date="today")
    assert second["sent"] == 0
    status = _call(ctx, "get_sms_status", date="today")
    assert sum(status["by_kind"]["supervision"].values()) == 12


def test_underperformer_list_matches_supervision(templates, tmp_path):
    result = _call(_context(templates, "during", tmp_path), "list_underperformers", date="today")
    assert result["count"] == 12
    assert all(u["rate"] < 0.8 for u in result["users"])


def test_report_before_event_end_is_chinese_error(templates, tmp_path):
    result = call_tool("generate_effect_report", {"date": "today"}, _context(templates, "during", tmp_path))
    assert result["ok"] is False
    assert "尚未结束" in result["error"]


def test_effect_report_after_event(templates, tmp_path):
    result = _call(_context(templates, "after", tmp_path), "generate_effect_report", date="2026-06-24")
    assert result["target_mw"] == 40
    assert result["actual_reduction_mw"] == 36.5
    assert result["participants"] == 420
    assert result["qualified"] == 384
    assert result["peak_reduction_time"] == "15:30"
    assert result["peak_reduction_mw"] == 39.2
    assert Path(result["chart_path"]).is_file()
    for text in ("40MW", "36.5MW", "91.3%", "420户", "384户", "91.4%", "14:00-18:00", "15:30", "39.2MW", "是否发送给相关负责人？"):
        assert text in result["summary"]


def test_effect_report_accepts_relative_date(templates, tmp_path):
    result = _call(_context(templates, "after", tmp_path), "generate_effect_report", date="today")
    assert result["actual_reduction_mw"] == 36.5


def test_send_report_records_outbox_once(templates, tmp_path):
    ctx = _context(templates, "after", tmp_path)
    first = _call(ctx, "send_report", date="today")
    assert first["sent"] == 2
    second = _call(ctx, "send_report", date="today")
    assert second["sent"] == 0


def test_load_curve_chart_for_customer_during_event(templates, tmp_path):
    result = _call(_context(templates, "during", tmp_path), "get_load_curve", user_id="603954", date="today")
    assert result["known_intervals"] == 60  # 00:00-15:00
    assert result["actual"][60] is None
    assert Path(result["chart_path"]).is_file()


def test_followup_goes_to_non_responders_once(templates, tmp_path):
    ctx = _context(templates, "fresh", tmp_path)
    _call(ctx, "decompose_deficit", gap_mw=40)
    _call(ctx, "send_dr_notification", district="城南区")
    advance_clock(ctx.engine, to=REPLIES_IN)
    replies = _call(ctx, "count_replies", district="城南区")
    first = _call(ctx, "send_followup_notice", district="城南区")
    assert first["sent"] == replies["not_replied"]
    assert _call(ctx, "send_followup_notice", district="城南区")["sent"] == 0
