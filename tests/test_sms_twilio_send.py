"""Sending through the twilio backend: the SDK talks to a local fake of Twilio's REST API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from sim_grid import DRSettings, advance_clock, open_city, read_clock
from sim_grid.models import Customer, District, Event, SmsOutbox
from sms_gateway import GatewayConfigError, OutgoingSms, create_gateway, deliver
from sms_gateway.receipts import refresh_statuses
from tests.fake_twilio_api import FakeTwilioApi
from tests.sms_support import PUBLIC_URL, SENDER, build_planned_city, twilio_environ
from tools import ToolContext, call_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "城南区"
CUSTOMERS_PER_DISTRICT = 16


@pytest.fixture(scope="module")
def planned_template(tmp_path_factory) -> Path:
    return build_planned_city(tmp_path_factory.mktemp("twilio_send"), contracted_per_district=CUSTOMERS_PER_DISTRICT)


@pytest.fixture
def city(planned_template, tmp_path) -> Path:
    path = tmp_path / "city.db"
    shutil.copyfile(planned_template, path)
    return path


@pytest.fixture
def fake_api():
    with FakeTwilioApi() as fake:
        yield fake


def _context(city: Path, fake: FakeTwilioApi, settings: DRSettings | None = None, **environ: str) -> ToolContext:
    gateway = create_gateway("twilio", twilio_environ(fake.base_url, **environ))
    return ToolContext(open_city(city), settings=settings or DRSettings(), output_dir=city.parent / "charts", gateway=gateway)


def _district_phones(ctx: ToolContext, district: str) -> set[str]:
    with Session(ctx.engine) as session:
        query = (
            select(Customer.phone)
            .join(District, District.id == Customer.district_id)
            .where(District.name == district, Customer.contracted == True, Customer.opted_out == False)  # noqa: E712
        )
        return set(session.exec(query).all())


def _outbox(ctx: ToolContext) -> list[SmsOutbox]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(SmsOutbox).order_by(SmsOutbox.id)).all())


def _assert_each_phone_once(fake: FakeTwilioApi, phones: set[str]) -> None:
    per_phone = Counter(message["to"] for message in fake.messages)
    assert set(per_phone) == phones
    assert max(per_phone.values()) == 1


def test_sdk_request_carries_sender_body_and_callback(city, fake_api):
    ctx = _context(city, fake_api)
    with ctx.session() as session:
        event = session.exec(select(Event)).first()
        message = OutgoingSms(kind="report", text="【需求响应报告】测试", phone="139 1234 5678", event_id=event.id)
        report = deliver(session, ctx.gateway, [message], ctx.settings, read_clock(session))

    assert report.outcomes == ["sent"]
    assert fake_api.create_requests == [
        {
            "To": "+8613912345678",
            "From": SENDER,
            "Body": "【需求响应报告】测试",
            "StatusCallback": f"{PUBLIC_URL}/sms/twilio/status",
        }
    ]
    (row,) = _outbox(ctx)
    assert row.phone == "+8613912345678"
    assert row.status == "sent"
    assert row.gateway == "twilio"
    assert row.gateway_message_id == fake_api.messages[0]["sid"]


def test_messaging_service_replaces_from(city, fake_api):
    ctx = _context(city, fake_api, TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32)
    with ctx.session() as session:
        message = OutgoingSms(kind="report", text="测试", phone="+8613912345678")
        deliver(session, ctx.gateway, [message], ctx.settings, read_clock(session))

    (fields,) = fake_api.create_requests
    assert fields["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in fields
    assert fields["StatusCallback"] == f"{PUBLIC_URL}/sms/twilio/status"


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "DR_AGENT_PUBLIC_URL", "sender"])
def test_missing_twilio_setting_raises(missing):
    environ = twilio_environ("http://127.0.0.1:9")
    if missing == "sender":
        del environ["TWILIO_FROM"]
    else:
        del environ[missing]
    with pytest.raises(GatewayConfigError):
        create_gateway("twilio", environ)


def test_notification_sends_each_customer_once(city, fake_api):
    ctx = _context(city, fake_api)
    phones = _district_phones(ctx, DISTRICT)

    first = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    again = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    assert first["ok"] and first["sent"] == len(phones)
    assert again["ok"] and again["sent"] == 0
    assert again["already_sent"] == len(phones)
    _assert_each_phone_once(fake_api, phones)
    assert {row.status for row in _outbox(ctx)} == {"sent"}


def test_invalid_phone_is_skipped(city, fake_api):
    ctx = _context(city, fake_api)
    with ctx.session() as session:
        messages = [
            OutgoingSms(kind="report", text="测试", phone="12345"),
            OutgoingSms(kind="report", text="测试", phone="+8613912345678"),
        ]
        report = deliver(session, ctx.gateway, messages, ctx.settings, read_clock(session))

    assert report.outcomes == ["invalid_phone", "sent"]
    assert [fields["To"] for fields in fake_api.create_requests] == ["+8613912345678"]


def test_opted_out_customer_is_not_sent(city, fake_api):
    ctx = _context(city, fake_api)
    with ctx.session() as session:
        customer = session.exec(select(Customer).where(Customer.contracted == True)).first()  # noqa: E712
        customer.opted_out = True
        session.add(customer)
        session.commit()
        message = OutgoingSms(kind="supervision", text="测试", phone=customer.phone, customer_id=customer.id)
        report = deliver(session, ctx.gateway, [message], ctx.settings, read_clock(session))

    assert report.outcomes == ["opted_out"]
    assert fake_api.create_requests == []


@pytest.mark.parametrize("created_before_failing", [False, True], ids=["not_created", "created_then_failed"])
def test_batch_cut_by_server_errors_resumes(city, fake_api, created_before_failing):
    # A lease of zero makes the immediate rerun act as one made after the lease ran out.
    ctx = _context(city, fake_api, settings=DRSettings(handover_lease_seconds=0))
    phones = _district_phones(ctx, DISTRICT)
    fake_api.fail_after = 5
    fake_api.create_before_failing = created_before_failing

    cut = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    fake_api.fail_after = None
    rerun = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    assert cut["ok"]
    assert cut["sent"] == 5
    assert cut["queued"] == len(phones) - 5
    assert "短信网关暂时不可用" in cut["summary"]
    assert rerun["sent"] == len(phones) - 5
    assert rerun["already_sent"] == 5
    _assert_each_phone_once(fake_api, phones)
    assert {row.status for row in _outbox(ctx)} == {"sent"}


def test_batch_killed_mid_send_resumes(city, fake_api):
    """A process killed after Twilio accepted a message but before the SID was stored: the rerun finds it and does not resend it."""
    ctx = _context(city, fake_api, settings=DRSettings(handover_lease_seconds=0))
    phones = _district_phones(ctx, DISTRICT)
    fake_api.hang_at = 7
    child_script = (
        "import sys\n"
        "from sim_grid import open_city\n"
        "from sms_gateway import create_gateway\n"
        "from tools import ToolContext, call_tool\n"
        "ctx = ToolContext(open_city(sys.argv[1]), gateway=create_gateway('twilio'))\n"
        "call_tool('send_dr_notification', {'district': sys.argv[2]}, ctx)\n"
    )
    environ = {**os.environ, **twilio_environ(fake_api.base_url), "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen([sys.executable, "-c", child_script, str(city), DISTRICT], env=environ, cwd=REPO_ROOT)
    try:
        assert fake_api.hanging.wait(timeout=120), "the child never reached the 7th message"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    fake_api.release.set()

    rows = _outbox(ctx)
    assert len(rows) == len(phones)
    assert Counter(row.status for row in rows) == {"sent": 6, "queued": len(phones) - 6}

    rerun = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    assert rerun["sent"] == len(phones) - 6
    _assert_each_phone_once(fake_api, phones)
    assert {row.status for row in _outbox(ctx)} == {"sent"}


def test_rate_limit_leaves_rest_queued(city, fake_api):
    ctx = _context(city, fake_api, settings=DRSettings(max_sends_per_minute=10))
    phones = _district_phones(ctx, DISTRICT)

    limited = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    status = call_tool("get_sms_status", {}, ctx)
    ctx.settings = DRSettings(max_sends_per_minute=1000)
    rest = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    assert limited["sent"] == 10
    assert limited["queued"] == len(phones) - 10
    assert "每分钟最多10条" in limited["summary"]
    assert f"另有{len(phones) - 10}条短信仍在排队" in limited["summary"]
    assert status["queued"] == len(phones) - 10
    assert f"排队{len(phones) - 10}条" in status["summary"]
    assert rest["sent"] == len(phones) - 10
    _assert_each_phone_once(fake_api, phones)


def test_quiet_hours_refuse_whole_batch(city, fake_api):
    ctx = _context(city, fake_api)
    advance_clock(ctx.engine, to=datetime(2026, 6, 23, 22, 30))

    result = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    assert result["ok"] is False
    assert "免打扰时段（22:00-08:00）" in result["error"]
    assert fake_api.create_requests == []
    with Session(ctx.engine) as session:
        assert session.exec(select(func.count()).select_from(SmsOutbox)).one() == 0


def test_rejected_number_is_failed_not_retried(city, fake_api):
    ctx = _context(city, fake_api)
    phones = _district_phones(ctx, DISTRICT)
    rejected_phone = sorted(phones)[0]
    fake_api.rejected_numbers = {rejected_phone}

    first = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    status = call_tool("get_sms_status", {}, ctx)

    assert first["rejected"] == 1
    assert "1条短信被短信网关拒收" in first["summary"]
    (row,) = [row for row in _outbox(ctx) if row.phone == rejected_phone]
    assert row.status == "failed"
    assert row.error_code == "21211"
    assert [fields["To"] for fields in fake_api.create_requests].count(rejected_phone) == 1
    assert status["failed"] == 1
    assert status["sent"] == len(phones) - 1


def test_status_query_reads_twilio(city, fake_api):
    ctx = _context(city, fake_api)
    call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    for message in fake_api.messages[:3]:
        message["status"] = "delivered"
    fake_api.messages[3]["status"] = "undelivered"

    with Session(ctx.engine) as session:
        changed = refresh_statuses(session, ctx.gateway, limit=1000)
    status = call_tool("get_sms_status", {}, ctx)

    assert changed == 4
    assert status["delivered"] == 3
    assert status["failed"] == 1


def test_rerun_within_lease_leaves_inflight_row_alone(city, fake_api):
    """A row another sender is handing over right now is not sent a second time."""
    ctx = _context(city, fake_api)
    phones = _district_phones(ctx, DISTRICT)
    fake_api.fail_after = 5
    fake_api.create_before_failing = True

    call_tool("send_dr_notification", {"district": DISTRICT}, ctx)
    fake_api.fail_after = None
    rerun = call_tool("send_dr_notification", {"district": DISTRICT}, ctx)

    # The row cut off during its hand-over is inside the lease: neither resent nor counted sent.
    assert rerun["sent"] == len(phones) - 6
    _assert_each_phone_once(fake_api, phones)
