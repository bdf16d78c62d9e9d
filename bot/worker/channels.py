"""Where a rendered message goes: Twilio (WhatsApp or SMS) or, with no account, the console.

A channel sends one message and says how it went: a SendResult, or a TemporaryError (try again
later) or a PermanentError (retrying will not help). The worker owns retries, pacing and the
database; channels only talk to the provider. `choose_form` decides, per recipient at send
time, whether a message goes as WhatsApp free text, an approved template or SMS, or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.config import Settings
from bot.language.templates_map import ContentTemplate, TemplateMap
from storage.outbox import ClaimedMessage

log = logging.getLogger(__name__)
# The twilio library logs every request and response at INFO, some ten lines a message; at
# hundreds of messages a second that drowns the worker's own log.
http_log = logging.getLogger("kadam.twilio_http")
http_log.setLevel(logging.WARNING)

# Which channel each form goes out on.
FORM_CHANNEL = {"session": "whatsapp", "template": "whatsapp", "sms": "sms"}
# WhatsApp lets a business write freely for 24 hours after the person's last message.
WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int  # the outbox row
    to: str  # E.164, without any "whatsapp:" prefix
    channel: str  # the person's channel: whatsapp | sms
    key: str  # the catalog key
    body: str  # the rendered text, options as numbered lines
    media_url: str | None = None
    form: str = "session"  # session | template | sms, from choose_form
    content_sid: str | None = None  # the approved template, for form "template"
    content_variables: str | None = None  # its variables, a JSON object {"1": ...}


@dataclass(frozen=True)
class Route:
    """How one message goes out: a form, the template for "template", why for "not_sent"."""

    form: str  # session | template | sms | not_sent
    template: ContentTemplate | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    form: str  # console | session | template | sms


class SendError(Exception):
    def __init__(self, code: int | None, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


class TemporaryError(SendError):
    """The provider is busy or unreachable; the same message may go through later.

    `unsure`: the provider may have accepted it all the same (no answer in time, a connection
    lost after the request went out): before sending it again, ask the provider (`find`)."""

    def __init__(self, code: int | None, message: str, unsure: bool = False):
        super().__init__(code, message)
        self.unsure = unsure


@dataclass(frozen=True)
class Found:
    """A message the provider holds, as its Messages list shows it."""

    sid: str
    body: str
    created_at: dt.datetime | None


class PermanentError(SendError):
    """The provider refused this message (a bad number, an unsubscribed person...)."""


class Channel(Protocol):
    paced: bool  # whether sends count against MESSAGES_PER_SECOND
    uses_forms: bool  # whether it sends in the form choose_form picks (the console does not)

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def close(self) -> None: ...


def choose_form(message: ClaimedMessage, now: dt.datetime, templates: TemplateMap,
                sms_from: str, whatsapp_from: str) -> Route:
    """How this message goes out, decided when it is sent (the window may have opened or
    closed since it was queued). Never free-form WhatsApp outside the 24-hour window.

    - the person is on SMS, or the deployment has no WhatsApp sender: SMS;
    - WhatsApp, and they wrote within 24 hours: free text ("session"); someone not in the
      roster only ever gets replies, so always;
    - else the approved template for the key in their language, or in English;
    - else SMS, if they may get SMS and a sender is configured;
    - else nothing, with the reason.
    A copy queued after error 63016 (`fallback_of`) never goes as free text.
    """
    if message.channel == "sms" or not whatsapp_from:
        if sms_from and (message.channel == "sms" or message.sms_allowed):
            return Route("sms")
        missing = "SMS" if message.channel == "sms" else "WhatsApp"
        return Route("not_sent", reason=f"no {missing} sender configured "
                                        f"(TWILIO_{missing.upper()}_FROM)")
    if message.fallback_of is None:
        if message.person_id is None:
            return Route("session")
        if message.last_inbound_at is not None and now - message.last_inbound_at < WINDOW:
            return Route("session")
    language = message.language or "en"
    template = templates.find(message.key, language)
    if template is not None:
        return Route("template", template)
    if message.sms_allowed and sms_from:
        return Route("sms")
    return Route("not_sent", reason=(
        f"outside WhatsApp's 24-hour window and no approved template for {message.key} "
        f"({language}); no SMS"
    ))


def channel_for(settings: Settings) -> Channel:
    """Twilio when the account is configured, the console otherwise."""
    if settings.channel == "twilio":
        return TwilioChannel(settings)
    return ConsoleChannel()


class ConsoleChannel:
    """Sends nothing: the message stays in the database, where the simulator shows it."""

    paced = False
    uses_forms = False  # it shows every message as the simulator does, whatever the window

    def send(self, message: OutgoingMessage) -> SendResult:
        log.debug("console -> %s: %s", message.to, message.body.replace("\n", " | "))
        return SendResult(f"console-{message.id}", "console")

    def close(self) -> None:
        pass


class TwilioChannel:
    """Twilio's Messages API through the twilio library, one client per sending thread."""

    paced = True
    uses_forms = True

    def __init__(self, settings: Settings, timeout: float = 10.0):
        self.settings = settings
        self.timeout = timeout
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()

    def _client(self) -> Client:
        # requests sessions are not documented as thread-safe, so each thread gets its own
        # client (and connection pool).
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                self.settings.twilio_account_sid,
                self.settings.twilio_auth_token,
                http_client=TwilioHttpClient(timeout=self.timeout, logger=http_log),
            )
            if self.settings.twilio_api_url:
                # TWILIO_API_URL points the SDK at a stand-in (tests, benchmarks). Region and
                # edge would rewrite its host name, so they are cleared.
                client.api.base_url = self.settings.twilio_api_url
                client.region = None
                client.edge = None
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def send(self, message: OutgoingMessage) -> SendResult:
        """Sends in the form the worker chose (choose_form): free text, template or SMS."""
        form = message.form
        to, sender = self._addresses(message)
        if not sender:
            raise PermanentError(None, f"no sender number configured for {form} messages")
        options: dict[str, object] = {"to": to, "from_": sender}
        if form == "template":
            # The approved text is Twilio's; we send only which template and its variables.
            options["content_sid"] = message.content_sid
            options["content_variables"] = message.content_variables
        else:
            options["body"] = message.body
            if message.media_url:
                options["media_url"] = [message.media_url]
        if self.settings.public_url:
            # The row id lets a callback that arrives before we stored the sid find its row.
            options["status_callback"] = (
                f"{self.settings.public_url}/twilio/status?outbox={message.id}"
            )
        try:
            created = self._client().messages.create(**options)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise classify(exc.status, exc.code, _error_text(exc)) from exc
        except requests.RequestException as exc:
            # Timeouts and lost connections: Twilio may or may not have the message. The
            # retry asks Twilio first (find). Only a connection never made is sure not to.
            unsure = not isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError)
            raise TemporaryError(None, f"{type(exc).__name__}: {exc}", unsure=unsure) from exc
        return SendResult(str(created.sid), form)

    def find(self, message: OutgoingMessage, limit: int = 50) -> list[Found]:
        """The newest messages the account sent from this message's sender to its recipient
        (newest first). Not filtered by DateSent: Twilio compares it by the day, and a message
        still queued at Twilio has none yet; the caller compares the creation times."""
        to, sender = self._addresses(message)
        try:
            listed = self._client().messages.list(to=to, from_=sender or None, limit=limit,
                                                  page_size=limit)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise TemporaryError(exc.code, _error_text(exc), unsure=True) from exc
        except requests.RequestException as exc:
            raise TemporaryError(None, f"{type(exc).__name__}: {exc}", unsure=True) from exc
        return [Found(str(m.sid), str(m.body or ""), m.date_created) for m in listed]

    def _addresses(self, message: OutgoingMessage) -> tuple[str, str]:
        """To and From as Twilio writes them for this message's form."""
        if message.form == "sms":
            return message.to, self.settings.twilio_sms_from
        sender = self.settings.twilio_whatsapp_from
        return whatsapp_address(message.to), whatsapp_address(sender) if sender else ""

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                session.close()


def whatsapp_address(number: str) -> str:
    """"+9198..." or "whatsapp:+9198..." -> "whatsapp:+9198..."."""
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def classify(status: int, code: int | None, message: str) -> SendError:
    """Rate limits and server errors pass; other refusals are final."""
    if status == 429 or status >= 500:
        return TemporaryError(code, message)
    return PermanentError(code if code != status else None, message)


def _error_text(exc: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(exc, TwilioServiceException):
        return str(exc.detail or exc.title)
    return str(exc.msg)
