"""A burst of 1,000 signed inbound replies over loopback to a real uvicorn server: each counted once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from sim_grid import open_city
from sim_grid.models import Customer, SmsInbox, SmsOutbox
from sms_gateway.webhooks import build_server
from tests.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tests.sms_support import SENDER, build_planned_city, running, signed_post
from tools import ToolContext, call_tool

DISTRICTS = ("城南区", "城北区", "城东区", "城西区")
REPLIES = 1000
REPLAYS = 50  # repeated deliveries of earlier message SIDs, as a gateway retry would send
CONCURRENT_REQUESTS = 32
REQUEST_TIMEOUT_SECONDS = 60


@pytest.fixture
def invited_city(tmp_path):
    return build_planned_city(tmp_path, invite=DISTRICTS)


def test_burst_of_replies_counted_once_each(invited_city):
    with Session(open_city(invited_city)) as session:
        query = select(Customer).join(SmsOutbox, SmsOutbox.customer_id == Customer.id).order_by(Customer.user_id)
        customers = list(session.exec(query).all())
    assert len(customers) < REPLIES  # so some customers reply twice

    # Customer i replies "1" when i is even and "2" otherwise. The first customers reply twice
    # with the same word, so the latest decisive reply of each customer is known.
    replies = []
    for number in range(REPLIES):
        index = number % len(customers)
        params = {
            "MessageSid": f"SM{number:032x}",
            "AccountSid": ACCOUNT_SID,
            "From": customers[index].phone,
            "To": SENDER,
            "Body": "1" if index % 2 == 0 else "2",
        }
        replies.append(params)
    requests = replies + replies[:REPLAYS]

    server = build_server(invited_city, port=0, log_level="warning", environ={"TWILIO_AUTH_TOKEN": AUTH_TOKEN})
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    with running(server) as server_url, httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as client:
        with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
            codes = list(pool.map(lambda params: signed_post(client, server_url, "/sms/twilio/inbound", params).status_code, requests))

    assert codes == [200] * len(requests)
    with Session(open_city(invited_city)) as session:
        stored = session.exec(select(SmsInbox.gateway_message_id).where(SmsInbox.gateway_message_id.is_not(None))).all()
        duplicates = session.exec(
            select(func.count()).select_from(SmsInbox).where(SmsInbox.gateway_message_id.is_not(None)).group_by(SmsInbox.gateway_message_id)
            .having(func.count() > 1)
        ).all()
    assert len(stored) == REPLIES
    assert set(stored) == {params["MessageSid"] for params in replies}
    assert duplicates == []

    counts = call_tool("count_replies", {}, ToolContext(open_city(invited_city), output_dir=invited_city.parent / "charts"))
    assert counts["yes"] == (len(customers) + 1) // 2
    assert counts["no"] == len(customers) // 2
    assert counts["not_replied"] == 0
