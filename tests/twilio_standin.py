"""A local stand-in for Twilio's Messages API and media URLs, for tests and benchmarks.

Point the real twilio library at it with TWILIO_API_URL. It answers
POST /2010-04-01/Accounts/<sid>/Messages.json the way Twilio does, records every request, and
can be scripted to answer 429, 500, a Twilio error, to hang past the client's timeout, or to
accept a message and then hang (a timeout after Twilio has it: `Reply.accepted_then_hang`);
`chaos` does the same to a random share of requests. Like Twilio it lists the account's
messages (GET .../Messages.json, filtered by To, From and DateSent, newest first), which is how
a worker finds out whether a message whose fate it does not know went out; like
Twilio it refuses a message with no body, media or template (21619) and template variables that
are not a JSON object (21656). It
also serves media files behind the account's credentials, with a redirect hop to an open "CDN"
on a second port (another origin, as Twilio's media URLs redirect to mms.twiliocdn.com); a media
file can instead redirect anywhere (`location`) or drip its bytes slowly (`drip`).

For `kadam doctor` it also answers what an account holds: the account itself, its phone numbers,
Messaging Services, WhatsApp senders and content templates with their WhatsApp approval
(`numbers`, `add_number`, `add_messaging_service`, `add_whatsapp_sender`, `add_content`).

    with TwilioStandin() as twilio:
        twilio.script(Reply.too_many_requests(), to="whatsapp:+919800000001")
        ...
        assert twilio.messages()[0].form["Body"] == "..."

Run `python -m tests.twilio_standin --port 8099` to serve it to another process (a benchmark).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "standin-token"
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


@dataclass(frozen=True)
class Reply:
    """How the stand-in answers one message request."""

    status: int = 201
    code: int | None = None
    message: str = ""
    hang: float = 0.0  # seconds to wait before answering
    accept: bool = False  # with hang: the message is accepted (and listed) before the wait

    @classmethod
    def too_many_requests(cls) -> Reply:
        return cls(429, 20429, "Too Many Requests")

    @classmethod
    def server_error(cls) -> Reply:
        return cls(500, 20500, "Internal Server Error")

    @classmethod
    def error(cls, code: int, status: int = 400, message: str = "") -> Reply:
        return cls(status, code, message or f"Twilio error {code}")

    @classmethod
    def hang_for(cls, seconds: float) -> Reply:
        return cls(hang=seconds)

    @classmethod
    def accepted_then_hang(cls, seconds: float) -> Reply:
        """Twilio has the message, but the answer saying so never arrives in time."""
        return cls(hang=seconds, accept=True)


@dataclass(frozen=True)
class Recorded:
    at: float  # time.monotonic() when the request arrived
    method: str
    path: str
    host: str
    form: dict[str, str]
    authorization: str | None
    status: int  # what the stand-in answered


@dataclass(frozen=True)
class _Media:
    content: bytes
    content_type: str
    redirect: bool
    location: str | None = None  # where the redirect points instead of the CDN
    drip: float = 0.0  # seconds between bytes


@dataclass
class _Account:
    """What the account holds, as the doctor reads it."""

    status: str = "active"  # active | suspended | closed
    type: str = "Full"  # Full | Trial
    numbers: dict[str, bool] = field(default_factory=dict)  # phone -> can send SMS
    services: dict[str, list[str]] = field(default_factory=dict)  # MG sid -> its phones
    whatsapp_senders: dict[str, str] = field(default_factory=dict)  # phone -> status
    contents: dict[str, str] = field(default_factory=dict)  # HX sid -> WhatsApp approval


@dataclass
class _State:
    account_sid: str
    auth_token: str
    redirect_host: str
    cdn_port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    script_any: deque[Reply] = field(default_factory=deque)
    script_to: dict[str, deque[Reply]] = field(default_factory=dict)
    media: dict[str, _Media] = field(default_factory=dict)
    account: _Account = field(default_factory=_Account)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted messages, in order
    chaos: tuple[float, float, float] = (0.0, 0.0, 0.0)  # timeout share, error share, hang
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class TwilioStandin:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 port: int = 0, redirect_host: str = "127.0.0.1"):
        self._state = _State(account_sid, auth_token, redirect_host)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.standin = self._state
        self._cdn = _Server(("127.0.0.1", 0), _Handler)
        self._cdn.standin = self._state
        self._state.cdn_port = int(self._cdn.server_address[1])
        self._threads: list[threading.Thread] = []

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> TwilioStandin:
        for name, server in (("twilio-standin", self._server), ("twilio-standin-cdn", self._cdn)):
            thread = threading.Thread(target=server.serve_forever,
                                      kwargs={"poll_interval": 0.05}, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # releases hanging handlers
        for server in (self._server, self._cdn):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> TwilioStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """What TWILIO_API_URL should be."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def account_sid(self) -> str:
        return self._state.account_sid

    @property
    def auth_token(self) -> str:
        return self._state.auth_token

    def script(self, *replies: Reply, to: str | None = None) -> None:
        """Queue answers for the next message requests (to one recipient, if `to` is given).
        Requests with nothing scripted are accepted."""
        with self._state.lock:
            queue = self._state.script_to.setdefault(to, deque()) if to else self._state.script_any
            queue.extend(replies)

    def chaos(self, timeouts: float = 0.0, errors: float = 0.0, hang: float = 15.0) -> None:
        """For benchmarks: a random share of unscripted message requests is accepted and then
        answered only after `hang` seconds (`timeouts`), another share answered 429 or 500
        (`errors`)."""
        with self._state.lock:
            self._state.chaos = (timeouts, errors, hang)

    def add_media(self, name: str, content: bytes, content_type: str,
                  redirect: bool = True, location: str | None = None, drip: float = 0.0) -> str:
        """Serve `content` at a Twilio-like media URL (behind the credentials) and return it.
        With `redirect`, that URL answers 302 to an open /cdn/ URL on `redirect_host` and the
        CDN's port, or to `location` if given; `drip` sends the bytes one at a time, that many
        seconds apart (a slow server)."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{name}/Media/ME{name}"
        with self._state.lock:
            self._state.media[path] = _Media(content, content_type, redirect or bool(location),
                                             location, drip)
        return self.url + path

    # --- what the account holds (kadam doctor) ------------------------------------------------

    @property
    def account(self) -> _Account:
        """The account's status and type ("active", "Full"); set them to script the doctor."""
        return self._state.account

    def add_number(self, phone: str, sms: bool = True) -> None:
        """A phone number bought on the account (IncomingPhoneNumbers)."""
        self._state.account.numbers[phone] = sms

    def add_messaging_service(self, sid: str, *phones: str) -> None:
        self._state.account.services[sid] = list(phones)

    def add_whatsapp_sender(self, phone: str, status: str = "ONLINE") -> None:
        """A WhatsApp sender registered on the account (Messaging > Senders)."""
        self._state.account.whatsapp_senders[phone] = status

    def add_content(self, sid: str, whatsapp: str = "approved") -> None:
        """A content template and its WhatsApp approval status."""
        self._state.account.contents[sid] = whatsapp

    # --- what happened ------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._state.lock:
            return list(self._state.requests)

    def messages(self) -> list[Recorded]:
        """Message requests the stand-in accepted (answered 201), in arrival order."""
        return [r for r in self.requests if r.method == "POST" and r.status == 201]

    def listed(self) -> list[dict[str, Any]]:
        """The messages the account holds, as the Messages list would show them."""
        with self._state.lock:
            return list(self._state.sent)

    def reset(self) -> None:
        with self._state.lock:
            self._state.sent.clear()
            self._state.requests.clear()
            self._state.script_any.clear()
            self._state.script_to.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging answer must not hold up the test run's exit
    standin: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is part of the script, not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections (benchmarks)
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK
    # (40 ms) and a benchmark would measure that instead of Kadam.
    disable_nagle_algorithm = True
    server_version = "TwilioStandin/1.0"

    @property
    def state(self) -> _State:
        return self.server.standin  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: a benchmark makes thousands of requests

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        match = MESSAGES_PATH.match(self.path)
        if not match:
            self._answer(404, {"code": 20404, "message": "Not Found", "status": 404}, form)
        elif not self._authorised(match["sid"]):
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401}, form)
        else:
            reply = _refusal(form) or self._scripted(form.get("To", "")) or self._chaos()
            if reply.accept:
                self._accept_then_hang(match["sid"], form, reply.hang)
                return
            if reply.hang and self.state.stopping.wait(reply.hang):
                return
            if reply.status >= 300:
                body = {"code": reply.code, "message": reply.message, "status": reply.status,
                        "more_info": f"https://www.twilio.com/docs/errors/{reply.code}"}
                self._answer(reply.status, body, form)
            else:
                self._answer(201, self._keep(_message_resource(match["sid"], form)), form)

    def _keep(self, resource: dict[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            self.state.sent.append(resource)
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def _accept_then_hang(self, account_sid: str, form: dict[str, str], hang: float) -> None:
        resource = self._keep(_message_resource(account_sid, form))
        self._record(201, form)  # Twilio has it: it counts as sent
        if self.state.stopping.wait(hang):
            return
        try:
            self._answer_bytes(201, json.dumps(resource).encode(), "application/json")
        except OSError:
            pass  # the client gave up long ago

    def _list_messages(self, sid: str) -> None:
        """GET .../Messages.json: the account's messages, newest first, filtered as Twilio
        filters them (To, From, DateSent> and DateSent<, compared to the second)."""
        if not self._authorised(sid):
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        after, before = _instant(query.get("DateSent>")), _instant(query.get("DateSent<"))
        size = int(query.get("PageSize") or 50)
        with self.state.lock:
            found = [m for m in reversed(self.state.sent)
                     if query.get("To") in (None, m["to"])
                     and query.get("From") in (None, m["from"])
                     and (after is None or m["_at"] >= after)
                     and (before is None or m["_at"] <= before)][:size]
        listed = [{k: v for k, v in m.items() if not k.startswith("_")} for m in found]
        self._answer(200, {"messages": listed, "next_page_uri": None, "page": 0,
                           "page_size": size, "start": 0, "end": len(listed),
                           "uri": self.path, "first_page_uri": self.path,
                           "previous_page_uri": None})

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        listing = MESSAGES_PATH.match(path)
        if listing:
            self._list_messages(listing["sid"])
            return
        if _account_answer(self, path):
            return
        if path.startswith("/cdn/"):
            item = self.state.media.get(path[len("/cdn") :])
            if item is None:
                self._answer(404, {"message": "Not Found"})
            else:
                self._answer_media(item)
            return
        item = self.state.media.get(path)
        if item is None:
            self._answer(404, {"code": 20404, "message": "Not Found", "status": 404})
        elif not self._authorised(self.state.account_sid):
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        elif item.redirect:
            cdn = f"http://{self.state.redirect_host}:{self.state.cdn_port}/cdn{path}"
            self._record(302, {})
            self.send_response(302)
            self.send_header("Location", item.location or cdn)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._answer_media(item)

    # --- helpers ------------------------------------------------------------------------------

    def _authorised(self, sid: str) -> bool:
        expected = base64.b64encode(f"{sid}:{self.state.auth_token}".encode()).decode()
        return sid == self.state.account_sid and self.headers.get(
            "Authorization"
        ) == f"Basic {expected}"

    def _scripted(self, to: str) -> Reply | None:
        with self.state.lock:
            queue = self.state.script_to.get(to)
            if queue:
                return queue.popleft()
            if self.state.script_any:
                return self.state.script_any.popleft()
        return None

    def _chaos(self) -> Reply:
        timeouts, errors, hang = self.state.chaos
        draw = random.random()
        if draw < timeouts:
            return Reply.accepted_then_hang(hang)
        if draw < timeouts + errors:
            return random.choice([Reply.too_many_requests(), Reply.server_error()])
        return Reply()

    def _record(self, status: int, form: dict[str, str]) -> None:
        entry = Recorded(time.monotonic(), self.command, self.path,
                         self.headers.get("Host", ""), form,
                         self.headers.get("Authorization"), status)
        with self.state.lock:
            self.state.requests.append(entry)

    def _answer(self, status: int, body: dict[str, Any],
                form: dict[str, str] | None = None) -> None:
        self._record(status, form or {})
        self._answer_bytes(status, json.dumps(body).encode(), "application/json")

    def _answer_media(self, item: _Media) -> None:
        if not item.drip:
            self._answer_bytes(200, item.content, item.content_type)
            return
        self._record(200, {})
        self.send_response(200)
        self.send_header("Content-Type", item.content_type)
        self.send_header("Content-Length", str(len(item.content)))
        self.end_headers()
        for i in range(len(item.content)):
            if self.state.stopping.wait(item.drip):
                return
            try:
                self.wfile.write(item.content[i : i + 1])
                self.wfile.flush()
            except OSError:
                return  # the client hung up

    def _answer_bytes(self, status: int, content: bytes, content_type: str) -> None:
        if self.command == "GET" and status == 200:
            self._record(status, {})
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


# What an account holds: GET paths of the API, Messaging and Content domains.
ACCOUNT_PATHS = {
    "account": re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)\.json$"),
    "numbers": re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/IncomingPhoneNumbers\.json$"),
    "service": re.compile(r"^/v1/Services/(?P<service>MG\w+)$"),
    "service_numbers": re.compile(r"^/v1/Services/(?P<service>MG\w+)/PhoneNumbers$"),
    "senders": re.compile(r"^/v2/Channels/Senders$"),
    "contents": re.compile(r"^/v1/ContentAndApprovals$"),
}


def _account_answer(handler: _Handler, path: str) -> bool:
    """Answers a request about the account (True), or leaves it to the other routes."""
    found = next(((kind, match) for kind, pattern in ACCOUNT_PATHS.items()
                  if (match := pattern.match(path))), None)
    if found is None:
        return False
    kind, match = found
    state, account = handler.state, handler.state.account
    query = {k: v[-1] for k, v in parse_qs(urlsplit(handler.path).query).items()}
    sid = match.groupdict().get("sid", state.account_sid)
    if not handler._authorised(sid):
        handler._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        return True
    missing = {"code": 20404, "message": "The requested resource was not found", "status": 404}
    if kind == "account":
        handler._answer(200, {"sid": sid, "friendly_name": "Kadam stand-in",
                              "status": account.status, "type": account.type})
    elif kind == "numbers":
        wanted = query.get("PhoneNumber")
        numbers = [{"sid": "PN" + secrets.token_hex(16), "phone_number": phone,
                    "capabilities": {"sms": sms, "mms": False, "voice": True}}
                   for phone, sms in account.numbers.items() if wanted in (None, phone)]
        handler._answer(200, {"incoming_phone_numbers": numbers, "next_page_uri": None,
                              "page": 0, "page_size": 50, "start": 0, "end": len(numbers)})
    elif kind in ("service", "service_numbers") and match["service"] not in account.services:
        handler._answer(404, missing)
    elif kind == "service":
        handler._answer(200, {"sid": match["service"], "friendly_name": "Kadam SMS"})
    elif kind == "service_numbers":
        phones = [{"sid": "PN" + secrets.token_hex(16), "phone_number": phone,
                   "capabilities": ["SMS"]} for phone in account.services[match["service"]]]
        handler._answer(200, _listing("phone_numbers", phones))
    elif kind == "senders":
        senders = [{"sid": "XE" + secrets.token_hex(16), "sender_id": f"whatsapp:{phone}",
                    "status": status} for phone, status in account.whatsapp_senders.items()
                   if query.get("Channel", "whatsapp") == "whatsapp"]
        handler._answer(200, _listing("senders", senders))
    else:
        contents = [{"sid": sid, "friendly_name": sid.lower(), "language": "en",
                     "approval_requests": {"name": sid.lower(), "status": status}}
                    for sid, status in account.contents.items()]
        handler._answer(200, _listing("contents", contents))
    return True


def _listing(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A list as Twilio's newer APIs page it."""
    return {key: items, "meta": {"key": key, "page": 0, "page_size": 50, "first_page_url": None,
                                 "previous_page_url": None, "next_page_url": None, "url": None}}


def _refusal(form: dict[str, str]) -> Reply | None:
    """What Twilio refuses whatever the script: a message with nothing to send, or template
    variables that are not a JSON object."""
    if not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
        return Reply.error(21619, message="A text message body or media url must be specified")
    if "ContentVariables" in form:
        try:
            variables = json.loads(form["ContentVariables"])
        except ValueError:
            variables = None
        if not isinstance(variables, dict):
            return Reply.error(21656, message="The ContentVariables Parameter is invalid")
    return None


def _instant(value: str | None) -> float | None:
    """An ISO 8601 time (as the twilio library writes DateSent> and DateSent<) as a Unix time."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _message_resource(account_sid: str, form: dict[str, str]) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    at = time.time()
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(at))
    return {
        "_at": at,  # for filtering by date; not listed
        "sid": sid,
        "account_sid": account_sid,
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "num_media": "1" if form.get("MediaUrl") else "0",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "date_created": now,
        "date_updated": now,
        "date_sent": now,  # the stand-in "sends" at once
        "messaging_service_sid": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    standin = TwilioStandin(port=args.port).start()
    print(f"TWILIO_API_URL={standin.url} TWILIO_ACCOUNT_SID={standin.account_sid} "
          f"TWILIO_AUTH_TOKEN={standin.auth_token}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
