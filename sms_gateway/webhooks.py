"""The webhook server: a gateway's inbound replies and delivery receipts, as an ASGI app.

Routes, for a gateway named <name> (twilio today):
  POST /sms/<name>/inbound   replies from phones
  POST /sms/<name>/status    delivery receipts
  GET  /healthz              liveness

Every callback must carry the gateway's valid signature over the public URL it called.
Otherwise the response is 403 and nothing is written. The public URL is DR_AGENT_PUBLIC_URL
plus the request path when that is set. Otherwise, only with trust_proxy_headers, it is
rebuilt from X-Forwarded-Proto and X-Forwarded-Host, and otherwise it is the URL that
reached this server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import Engine, event
from sqlmodel import Session

from sim_grid import open_city
from sms_gateway.base import WebhookReceiver, WebhookRequest
from sms_gateway.inbound import record_inbound
from sms_gateway.receipts import record_status
from sms_gateway.registry import create_webhook_receiver
from sms_gateway.writer import GroupCommitWriter

logger = logging.getLogger(__name__)

PUBLIC_URL_ENV = "DR_AGENT_PUBLIC_URL"
TRUST_PROXY_ENV = "DR_AGENT_TRUST_PROXY_HEADERS"  # 1, true or yes: honour X-Forwarded-Proto/-Host
REJECTION_LOG_INTERVAL_SECONDS = 60.0
# How long a write waits for the agent process to release the SQLite file.
SQLITE_BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class WebhookConfig:
    """Settings that locate the public URL the gateway signed."""

    public_url: str | None = None  # e.g. https://dr.example.com, optionally with a path prefix
    trust_proxy_headers: bool = False  # enable only when a proxy you run is the sole way in

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WebhookConfig:
        trust = environ.get(TRUST_PROXY_ENV, "").strip().lower() in ("1", "true", "yes")
        return cls(public_url=environ.get(PUBLIC_URL_ENV, "").strip() or None, trust_proxy_headers=trust)


def _first_value(header: str | None) -> str | None:
    """Return the first entry of a comma-separated header (the client-side proxy's), stripped."""
    if not header:
        return None
    return header.split(",")[0].strip() or None


def public_request_url(request: Request, config: WebhookConfig) -> str:
    """Return the URL the gateway called, as it signed it."""
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if config.public_url:
        return config.public_url.rstrip("/") + path_and_query
    if config.trust_proxy_headers:
        scheme = _first_value(request.headers.get("x-forwarded-proto")) or request.url.scheme
        host = _first_value(request.headers.get("x-forwarded-host")) or request.headers.get("host", "")
        return f"{scheme}://{host}{path_and_query}"
    return str(request.url)


class _RejectionLog:
    """Logs rejected callbacks at most once per interval, with the count since the last line.

    Used from the event loop only, so it needs no lock.
    """

    def __init__(self, interval_seconds: float):
        self.interval_seconds = interval_seconds
        self.count = 0
        self.last_logged = float("-inf")

    def record(self, path: str, client: str) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.last_logged < self.interval_seconds:
            return
        logger.warning("rejected %d callback(s) with a missing or invalid signature; latest %s from %s", self.count, path, client)
        self.count = 0
        self.last_logged = now


def create_app(engine: Engine, receiver: WebhookReceiver, config: WebhookConfig) -> FastAPI:
    """Build the ASGI app serving `receiver`'s callbacks into the city database behind `engine`."""
    # SQLite allows one writer at a time, so all writes go through one thread that commits
    # them in groups.
    writer = GroupCommitWriter(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer.start()
        yield
        writer.stop()

    app = FastAPI(title="dr-agent SMS webhooks", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    rejections = _RejectionLog(REJECTION_LOG_INTERVAL_SECONDS)

    def empty_response() -> Response:
        return Response(receiver.response_body, media_type=receiver.response_media_type)

    async def verified(request: Request) -> WebhookRequest | None:
        body = await request.body()
        form = await request.form()
        webhook_request = WebhookRequest(
            url=public_request_url(request, config),
            headers={name.lower(): value for name, value in request.headers.items()},
            form=form,
            body=body,
        )
        if not receiver.verify(webhook_request):
            client = request.client.host if request.client else "unknown"
            rejections.record(request.url.path, client)
            return None
        return webhook_request

    def store_inbound(webhook_request: WebhookRequest, session: Session) -> None:
        for message in receiver.parse_inbound(webhook_request):
            record_inbound(session, receiver.name, message)

    def store_status(webhook_request: WebhookRequest, session: Session) -> None:
        for report in receiver.parse_status(webhook_request):
            outbox_status = receiver.outbox_status(report.status)
            if outbox_status is None:
                logger.info("receipt status %r for %s ignored", report.status, report.message_id)
                continue
            record_status(session, receiver.name, report, outbox_status)

    @app.post(f"/sms/{receiver.name}/inbound")
    async def inbound(request: Request) -> Response:
        webhook_request = await verified(request)
        if webhook_request is None:
            return PlainTextResponse("invalid signature", status_code=403)
        await asyncio.wrap_future(writer.submit(lambda session: store_inbound(webhook_request, session)))
        return empty_response()

    @app.post(f"/sms/{receiver.name}/status")
    async def status(request: Request) -> Response:
        webhook_request = await verified(request)
        if webhook_request is None:
            return PlainTextResponse("invalid signature", status_code=403)
        await asyncio.wrap_future(writer.submit(lambda session: store_status(webhook_request, session)))
        return empty_response()

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    return app


def build_server(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    gateway: str = "twilio",
    public_url: str | None = None,
    trust_proxy_headers: bool | None = None,
    log_level: str = "info",
    environ: Mapping[str, str] | None = None,
) -> uvicorn.Server:
    """Build (without starting) the uvicorn server of `serve`. Raises GatewayConfigError.

    Arguments left None come from the environment (DR_AGENT_PUBLIC_URL,
    DR_AGENT_TRUST_PROXY_HEADERS; the receiver's secret, e.g. TWILIO_AUTH_TOKEN).
    """
    environ = os.environ if environ is None else environ
    receiver = create_webhook_receiver(gateway, environ)
    config = WebhookConfig.from_env(environ)
    config = WebhookConfig(
        public_url=public_url if public_url is not None else config.public_url,
        trust_proxy_headers=trust_proxy_headers if trust_proxy_headers is not None else config.trust_proxy_headers,
    )
    engine = open_city(db_path)

    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wait_when_busy(dbapi_connection, _record) -> None:
            dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    app = create_app(engine, receiver, config)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-Proto from any client on
    # 127.0.0.1, and the signed URL must follow trust_proxy_headers alone.
    server_config = uvicorn.Config(
        app, host=host, port=port, proxy_headers=False, server_header=False, log_level=log_level, access_log=False
    )
    logger.info(
        "SMS webhooks for %s on http://%s:%d (public URL %s, proxy headers %s)",
        receiver.name,
        host,
        port,
        config.public_url or "from the request",
        "trusted" if config.trust_proxy_headers else "ignored",
    )
    return uvicorn.Server(server_config)


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    gateway: str = "twilio",
    public_url: str | None = None,
    trust_proxy_headers: bool | None = None,
    log_level: str = "info",
) -> None:
    """Serve the gateway's webhooks over the city database until interrupted.

    Raises GatewayConfigError before listening when the gateway's secret is missing (for
    twilio: TWILIO_AUTH_TOKEN), because no callback could be verified.
    """
    server = build_server(
        db_path, host, port, gateway=gateway, public_url=public_url, trust_proxy_headers=trust_proxy_headers, log_level=log_level
    )
    server.run()
    logger.info("SMS webhooks for %s stopped", gateway)
