"""Shared pieces of the SMS gateway tests: a city ready to invite, Twilio settings, a uvicorn server in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from twilio.request_validator import RequestValidator

from sqlmodel import Session, select

from sim_grid import advance_clock, create_city
from sim_grid.models import Customer
from tests.fake_twilio_api import ACCOUNT_SID, AUTH_TOKEN
from tools import ToolContext, call_tool

PLANNED_AT = datetime(2026, 6, 23, 9, 30)  # the day before the demo event, outside quiet hours
SENDER = "+15005550006"
PUBLIC_URL = "https://dr.example.com"


def build_planned_city(folder: Path, invite: tuple[str, ...] = (), contracted_per_district: int | None = None) -> Path:
    """Build the demo city with its 40MW deficit split into districts, at PLANNED_AT.

    With contracted_per_district, only that many customers of each district (lowest user ids)
    stay contracted, which keeps batches short: each message sent through an external gateway
    costs two SQLite commits. Districts named in `invite` get their invitations through the
    simulator's gateway.
    """
    path = folder / "planned.db"
    engine = create_city(path)
    ctx = ToolContext(engine, output_dir=folder / "charts")
    assert call_tool("decompose_deficit", {"gap_mw": 40, "method": "mean"}, ctx)["ok"]
    advance_clock(engine, to=PLANNED_AT)
    if contracted_per_district is not None:
        with Session(engine) as session:
            kept: dict[int, int] = {}
            for customer in session.exec(select(Customer).where(Customer.contracted == True).order_by(Customer.user_id)):  # noqa: E712
                kept[customer.district_id] = kept.get(customer.district_id, 0) + 1
                if kept[customer.district_id] > contracted_per_district:
                    customer.contracted = False
                    session.add(customer)
            session.commit()
    for district in invite:
        assert call_tool("send_dr_notification", {"district": district}, ctx)["ok"]
    engine.dispose()
    return path


def twilio_environ(api_base_url: str, **overrides: str) -> dict[str, str]:
    """Environment variables of the twilio backend, with the SDK pointed at a local fake API."""
    environ = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": SENDER,
        "DR_AGENT_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_API_BASE_URL": api_base_url,
    }
    environ.update(overrides)
    return environ


@contextmanager
def running(server: uvicorn.Server, startup_timeout_seconds: float = 20.0) -> Iterator[str]:
    """Run a uvicorn server in a thread; yield its base URL and stop it on exit."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def signed_post(
    client: httpx.Client, server_url: str, path: str, params: dict[str, str], signed_url: str | None = None,
    headers: dict[str, str] | None = None, token: str = AUTH_TOKEN,
) -> httpx.Response:
    """POST form params with an X-Twilio-Signature computed by the SDK over `signed_url` (default: the URL posted to)."""
    url = server_url + path
    signature = RequestValidator(token).compute_signature(signed_url or url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature, **(headers or {})})
