"""A local stand-in for Twilio's Messages REST API (2010-04-01) on 127.0.0.1, for the SDK to talk to.

It implements what the twilio backend calls: create a message, fetch one, and list messages
to a number. It records every create request's form fields. Settings make it fail after a
number of messages, reject numbers, hang, or post a signed status callback before its
response, as Twilio sometimes does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from email.utils import format_datetime
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import httpx
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")


class FakeTwilioApi:
    """The fake server; use as a context manager. Settings may change between requests."""

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.create_requests: list[dict[str, str]] = []  # form fields of every create request, accepted or not
        self.messages: list[dict] = []  # created messages, oldest first
        self.fail_after: int | None = None  # once this many messages exist, creates get fail_status
        self.fail_status = 500
        self.create_before_failing = False  # True: the failing request still creates its message (ambiguous case)
        self.rejected_numbers: set[str] = set()  # To numbers that get HTTP 400, code 21211
        self.hang_at: int | None = None  # the create that makes this many messages blocks until release is set
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.early_status: str | None = None  # post this status callback before responding to a create
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeTwilioApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def messages_to(self, phone: str) -> list[dict]:
        return [m for m in self.messages if m["to"] == phone]

    def _message_json(self, fields: dict[str, str]) -> dict:
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        sid = "SM" + uuid.uuid4().hex
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": fields["To"],
            "from": fields.get("From"),
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "body": fields.get("Body"),
            "status": "accepted" if "MessagingServiceSid" in fields else "queued",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "num_segments": "1",
            "num_media": "0",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {},
        }

    def _post_status_callback(self, url: str, message: dict, status: str) -> None:
        params = {"MessageSid": message["sid"], "MessageStatus": status, "AccountSid": self.account_sid, "To": message["to"]}
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
        response.raise_for_status()

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed while this request hung

            def _error(self, status: int, code: int, message: str) -> None:
                self._reply(status, {"code": code, "message": message, "more_info": "", "status": status})

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def _route(self):
                url = urlparse(self.path)
                match = _MESSAGES_PATH.match(url.path)
                if match is None or match["account"] != fake.account_sid:
                    self._error(404, 20404, "not found")
                    return None, None
                if not self._authorised():
                    self._error(401, 20003, "authentication failed")
                    return None, None
                return match, url

            def do_POST(self) -> None:
                match, _ = self._route()
                if match is None:
                    return
                length = int(self.headers.get("Content-Length", 0))
                fields = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                with fake.lock:
                    fake.create_requests.append(fields)
                    failing = fake.fail_after is not None and len(fake.messages) >= fake.fail_after
                    if fields.get("To") in fake.rejected_numbers:
                        message = None
                    elif failing and not fake.create_before_failing:
                        message = None
                    else:
                        message = fake._message_json(fields)
                        fake.messages.append(message)
                    hang = fake.hang_at is not None and message is not None and len(fake.messages) == fake.hang_at
                if fields.get("To") in fake.rejected_numbers:
                    self._error(400, 21211, f"The 'To' number {fields.get('To')} is not a valid phone number.")
                    return
                if hang:
                    fake.hanging.set()
                    fake.release.wait(timeout=60)
                if failing:
                    self._error(fake.fail_status, 20500, "internal server error")
                    return
                if fake.early_status and fields.get("StatusCallback"):
                    fake._post_status_callback(fields["StatusCallback"], message, fake.early_status)
                self._reply(201, message)

            def do_GET(self) -> None:
                match, url = self._route()
                if match is None:
                    return
                with fake.lock:
                    messages = list(fake.messages)
                if match["sid"]:
                    found = [m for m in messages if m["sid"] == match["sid"]]
                    if not found:
                        self._error(404, 20404, "not found")
                    else:
                        self._reply(200, found[0])
                    return
                query = parse_qs(url.query)
                page_size = int(query.get("PageSize", ["50"])[0])
                if "To" in query:
                    messages = [m for m in messages if m["to"] == query["To"][0]]
                page = list(reversed(messages))[:page_size]
                list_uri = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                self._reply(200, {
                    "messages": page,
                    "first_page_uri": list_uri,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                    "page": 0,
                    "page_size": page_size,
                    "start": 0,
                    "end": max(len(page) - 1, 0),
                    "uri": list_uri,
                })

        return Handler
