"""The gateway registry, phone numbers, quiet hours and the default simulator backend."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from sim_grid import DRSettings, advance_clock, open_city, read_clock
from sim_grid.models import SmsOutbox
from sms_gateway import (
    InvalidPhoneError,
    OutgoingSms,
    SendResult,
    SimGateway,
    SmsGateway,
    UnknownGatewayError,
    create_gateway,
    deliver,
    gateway_names,
    in_quiet_hours,
    mask_phone,
    register_gateway,
    to_e164,
)
from sms_gateway import registry
from tests.sms_support import build_planned_city
from tools import ToolContext, call_tool


@pytest.fixture(scope="module")
def planned_template(tmp_path_factory) -> Path:
    return build_planned_city(tmp_path_factory.mktemp("basics"), contracted_per_district=8)


@pytest.fixture
def ctx(planned_template, tmp_path) -> ToolContext:
    path = tmp_path / "city.db"
    shutil.copyfile(planned_template, path)
    return ToolContext(open_city(path), output_dir=tmp_path / "charts")


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+14155550100", "+14155550100"),
    ],
)
def test_phone_normalised_to_e164(number, expected):
    assert to_e164(number) == expected


@pytest.mark.parametrize("number", ["12345", "010-12345678", "+86138123456789", "电话", ""])
def test_phone_that_is_no_mobile_raises(number):
    with pytest.raises(InvalidPhoneError):
        to_e164(number)


def test_phone_masked_for_logs():
    assert mask_phone("+8613812345678") == "+86138****5678"
    assert mask_phone("5678") == "5678"


def test_invalid_phone_error_hides_number():
    with pytest.raises(InvalidPhoneError) as raised:
        to_e164("+86138123456789")
    assert "+86138123456789" not in str(raised.value)


@pytest.mark.parametrize(
    ("start", "end", "hour", "quiet"),
    [
        (22, 8, 21, False),
        (22, 8, 22, True),
        (22, 8, 3, True),
        (22, 8, 8, False),
        (12, 14, 13, True),
        (12, 14, 14, False),
        (None, 8, 3, False),
        (8, 8, 8, False),
    ],
)
def test_quiet_hours_window(start, end, hour, quiet):
    settings = DRSettings(quiet_hours_start_hour=start, quiet_hours_end_hour=end)
    assert in_quiet_hours(datetime(2026, 6, 23, hour, 30), settings) is quiet


def test_registry_defaults_to_sim(ctx):
    assert {"sim", "twilio"} <= set(gateway_names())
    assert isinstance(create_gateway(environ={}), SimGateway)
    assert isinstance(create_gateway(environ={"DR_AGENT_SMS_GATEWAY": "sim"}), SimGateway)
    assert isinstance(ctx.gateway, SimGateway)


def test_unknown_gateway_raises():
    with pytest.raises(UnknownGatewayError, match="aliyun"):
        create_gateway("aliyun", environ={})


def test_registered_gateway_receives_tool_messages(ctx, monkeypatch):
    monkeypatch.setattr(registry, "_GATEWAYS", dict(registry._GATEWAYS))
    sent_texts: list[str] = []

    @register_gateway
    class RecordingGateway(SmsGateway):
        name = "recording-test"
        external = False

        def send(self, session, message, settings) -> SendResult:
            sent_texts.append(message.text)
            return SendResult(message_id=f"rec-{len(sent_texts)}", status="sent")

    ctx.gateway = create_gateway("recording-test", environ={})
    result = call_tool("send_dr_notification", {"district": "城南区"}, ctx)

    assert result["sent"] == 8
    assert len(sent_texts) == 8
    assert all(text.startswith("【需求响应邀约】") for text in sent_texts)
    with Session(ctx.engine) as session:
        rows = session.exec(select(SmsOutbox)).all()
    assert {row.gateway for row in rows} == {"recording-test"}
    assert {row.status for row in rows} == {"sent"}


def test_sim_quiet_hours_refuse_and_write_nothing(ctx):
    advance_clock(ctx.engine, to=datetime(2026, 6, 23, 23, 0))

    result = call_tool("send_dr_notification", {"district": "城南区"}, ctx)

    assert result["ok"] is False
    assert result["error"] == "现在（23:00）处于短信免打扰时段（22:00-08:00），本次未发送任何短信，请在08:00以后再发送。"
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(SmsOutbox)).one() == 0


def test_sim_gateway_is_not_rate_limited(ctx):
    ctx.settings = DRSettings(max_sends_per_minute=1)

    result = call_tool("send_dr_notification", {"district": "城南区"}, ctx)

    assert result["sent"] == 8
    assert "排队" not in result["summary"]


def test_sim_resends_rows_left_queued(ctx):
    """Rows committed as queued by a process that stopped before sending go out on the next call."""
    with ctx.session() as session:
        now = read_clock(session)
        session.add(SmsOutbox(phone="+8613912345678", kind="report", text="测试", status="queued", gateway="sim"))
        session.commit()
        report = deliver(session, ctx.gateway, [OutgoingSms(kind="report", text="测试", phone="13912345678")], ctx.settings, now)
        (row,) = session.exec(select(SmsOutbox)).all()

    assert report.outcomes == ["sent"]
    assert row.status == "sent"
    assert row.sent_at == now
    assert row.deliver_at > now
