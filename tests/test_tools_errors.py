"""User-level problems come back as Chinese errors and leave the database untouched.

The tests that take a city run on SQLite and on PostgreSQL (see tests/city_stores.py).
"""

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from tests.city_stores import city_store  # noqa: F401  (fixture)
from tools import TOOLS, ToolContext, call_tool
from tools.contract import TOOL_ARGS


@pytest.fixture(scope="module")
def template(city_store) -> str:
    return city_store.create("errors")


@pytest.fixture
def ctx(city_store, template, tmp_path) -> ToolContext:
    context = ToolContext(city_store.copy(template, "city"), output_dir=tmp_path / "charts")
    yield context
    context.engine.dispose()


def _row_counts(ctx: ToolContext) -> dict[str, int]:
    with Session(ctx.engine) as session:
        return {name: session.exec(select(func.count()).select_from(table)).one() for name, table in SQLModel.metadata.tables.items()}


def _assert_chinese_error(result: dict) -> None:
    assert result["ok"] is False
    assert result["error"] == result["summary"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result["error"])


def test_tools_follow_contract_order():
    assert list(TOOLS) == list(TOOL_ARGS)


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("send_dr_notification", {"district": "城中区"}, "未找到区域“城中区”，可选区域：城南区、城北区、城东区、城西区"),
        ("count_replies", {"district": "火星"}, "未找到区域"),
        ("get_user_execution", {"user_id": "000001"}, "未找到用户“000001”"),
        ("get_user_execution", {"user_id": "60395"}, "6位数字"),
        ("decompose_deficit", {"gap_mw": -5}, "正数"),
        ("decompose_deficit", {"gap_mw": 0}, "正数"),
        ("decompose_deficit", {"gap_mw": 1e6}, "超过"),
        ("get_deficit_warning", {"date": "2026-13-01"}, "无法识别日期"),
        ("get_deficit_warning", {"date": "下周"}, "无法识别日期"),
        ("generate_effect_report", {"date": "2026-06-01"}, "没有需求响应事件"),
        ("decompose_deficit", {"gap_mw": 8, "level": "station"}, "指定区域"),
        ("get_load_curve", {}, "用户编号或区域"),
        ("no_such_tool", {}, "未知工具"),
        ("decompose_deficit", {}, "缺少参数 gap_mw"),
        ("decompose_deficit", {"gap_mw": 40, "method": "median"}, "参数 method"),
        ("count_replies", {"dates": "tomorrow"}, "不支持参数 dates"),
        ("send_report", {"date": "2026-06-17", "recipients": ["不存在的人"]}, "未找到接收人"),
    ],
)
def test_bad_request_returns_chinese_error_and_writes_nothing(ctx, name, arguments, expected):
    before = _row_counts(ctx)
    result = call_tool(name, arguments, ctx)
    _assert_chinese_error(result)
    assert expected in result["error"]
    assert _row_counts(ctx) == before


def test_notification_for_other_day_than_split_is_rejected(ctx):
    call_tool("decompose_deficit", {"gap_mw": 40}, ctx)  # splits tomorrow's deficit only
    before = _row_counts(ctx)
    result = call_tool("send_dr_notification", {"district": "城南区", "date": "today"}, ctx)
    _assert_chinese_error(result)
    assert _row_counts(ctx) == before


def test_notification_before_any_decomposition_is_rejected(ctx):
    before = _row_counts(ctx)
    result = call_tool("send_dr_notification", {"district": "城南区"}, ctx)
    _assert_chinese_error(result)
    assert "分解" in result["error"]
    assert _row_counts(ctx) == before


def test_count_replies_before_invitations_is_rejected(ctx):
    call_tool("decompose_deficit", {"gap_mw": 40}, ctx)
    result = call_tool("count_replies", {"district": "城南区"}, ctx)
    _assert_chinese_error(result)


def test_supervision_before_event_start_is_rejected(ctx):
    call_tool("decompose_deficit", {"gap_mw": 40}, ctx)
    result = call_tool("send_supervision_sms", {"date": "tomorrow"}, ctx)
    _assert_chinese_error(result)
    assert "尚未开始" in result["error"]


def test_short_district_name_is_accepted(ctx):
    call_tool("decompose_deficit", {"gap_mw": 40}, ctx)
    result = call_tool("send_dr_notification", {"district": "城南"}, ctx)
    assert result["ok"] is True
    assert result["district"] == "城南区"
