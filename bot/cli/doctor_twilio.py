"""Twilio, as `kadam doctor` checks it through the API (the twilio library): the credentials
and the account, the senders (numbers on the account, WhatsApp senders, Messaging Services),
and the TWILIO_TEMPLATES map with each content SID known to the account and approved for
WhatsApp. Only reads: nothing is sent or changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.cli.doctor import Deployment, Finding, is_phone, is_sid, ok, problem
from bot.language import templates_map

SANDBOX = "+14155238886"  # Twilio's shared WhatsApp Sandbox
CREDENTIALS_FIX = ("copy TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the Twilio console's "
                   "Account Info (a token changes when it is rotated)")
TEMPLATES_FIX = ("create the templates in Content Template Builder, submit them for WhatsApp "
                 "approval and map them in the TWILIO_TEMPLATES file (README: Twilio setup)")
T = TypeVar("T")


class Unanswered(Exception):
    """Twilio did not answer a question; the message says why, in an operator's words."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def ask(question: Callable[[], T]) -> T:
    """Runs one API call; any failure becomes Unanswered."""
    try:
        return question()
    except TwilioRestException as error:
        raise Unanswered(f"Twilio answered {error.status} (error {error.code}: "
                         f"{error.msg})", error.status) from error
    except (requests.RequestException, TwilioException) as error:
        raise Unanswered(f"Twilio's API cannot be reached ({type(error).__name__})") from error


def client_for(d: Deployment, timeout: float = 10.0) -> Client:
    client = Client(d.get("TWILIO_ACCOUNT_SID"), d.get("TWILIO_AUTH_TOKEN"),
                    http_client=TwilioHttpClient(timeout=timeout))
    api_url = d.get("TWILIO_API_URL").rstrip("/")
    if api_url:
        # A stand-in answers every domain the doctor asks (as the worker's channel points it).
        for domain in (client.api, client.messaging, client.content):
            domain.base_url = api_url
        client.region = None
        client.edge = None
    return client


def twilio(d: Deployment, timeout: float = 10.0) -> list[Finding]:
    """What Twilio says of the account, its senders and templates. A variable of the wrong
    form is not asked about: its own line says what is wrong."""
    if not d.twilio or not is_sid(d.get("TWILIO_ACCOUNT_SID"), "AC"):
        return _templates_file(d)
    client = client_for(d, timeout)
    account = _account(client, d)
    if not account.ok:
        return [account, *_templates_file(d)]
    found = [account]
    whatsapp, sms = d.get("TWILIO_WHATSAPP_FROM"), d.get("TWILIO_SMS_FROM")
    if is_phone(whatsapp.removeprefix("whatsapp:")):
        found.append(_whatsapp_sender(client, whatsapp))
    if is_phone(sms) or is_sid(sms, "MG"):
        found.append(_sms_sender(client, sms))
    return found + _templates(client, d)


def _account(client: Client, d: Deployment) -> Finding:
    sid = d.get("TWILIO_ACCOUNT_SID")
    where = d.get("TWILIO_API_URL") or "api.twilio.com"
    try:
        account = ask(client.api.v2010.accounts(sid).fetch)
    except Unanswered as error:
        if error.status == 401:
            return problem("Twilio account", f"Twilio refused the credentials for {sid}",
                           CREDENTIALS_FIX)
        if error.status == 404:
            return problem("Twilio account", f"Twilio has no account {sid}", CREDENTIALS_FIX)
        return problem("Twilio account", f"{error} at {where}",
                       "check that this machine reaches Twilio over HTTPS (firewall, proxy), "
                       "then run the doctor again")
    name = f"{account.friendly_name} ({sid})"
    if account.status != "active":
        return problem("Twilio account", f"{name} is {account.status}: nothing can be sent",
                       "reactivate the account in the Twilio console (Billing, or Support)")
    if account.type == "Trial":
        return problem("Twilio account", f"{name} is a trial account: it reaches only the "
                                         "numbers verified on it, with a trial notice",
                       "upgrade the account in the Twilio console (Billing)")
    return ok("Twilio account", f"{name} answers and is active")


def _numbers(client: Client, phone: str) -> list[Any]:
    listed = ask(lambda: client.api.v2010.accounts(client.account_sid)
                 .incoming_phone_numbers.list(phone_number=phone, limit=20))
    return [number for number in listed if number.phone_number == phone]


def _whatsapp_sender(client: Client, raw: str) -> Finding:
    subject = "TWILIO_WHATSAPP_FROM"
    phone = raw.removeprefix("whatsapp:")
    if phone == SANDBOX:
        return ok(subject, f"{phone}: Twilio's WhatsApp Sandbox, which reaches only people who "
                           "joined it (for trials: a state needs a WhatsApp sender of its own)")
    try:
        senders = _whatsapp_senders(client)
        sender = senders.get(phone)
        if sender is not None:
            if str(sender).startswith("ONLINE"):
                return ok(subject, f"{phone}: a WhatsApp sender on this account, online")
            return problem(subject, f"{phone} is a WhatsApp sender on this account, but "
                                    f"{str(sender).lower()}",
                           "see why, and finish or repair its registration, in the Twilio "
                           "console (Messaging > Senders > WhatsApp senders)")
        if _numbers(client, phone):
            return ok(subject, f"{phone}: a number on this account")
    except Unanswered as error:
        return problem(subject, f"{phone} could not be looked up: {error}",
                       "run the doctor again; if it persists, check the number in the Twilio "
                       "console")
    return problem(subject, f"{phone} is neither a WhatsApp sender nor a number on this account",
                   "set TWILIO_WHATSAPP_FROM to a sender listed in the Twilio console (Messaging "
                   "> Senders > WhatsApp senders), or register this one there")


def _whatsapp_senders(client: Client) -> dict[str, Any]:
    """WhatsApp senders by phone, with their status; none when the library predates the
    Senders API or the account may not read it."""
    listing = getattr(client.messaging.v2, "channels_senders", None)
    if listing is None:
        return {}
    try:
        senders = ask(lambda: listing.list(channel="whatsapp", limit=1000))
    except Unanswered as error:
        if error.status in (403, 404):
            return {}
        raise
    return {str(s.sender_id).removeprefix("whatsapp:"): s.status for s in senders}


def _sms_sender(client: Client, raw: str) -> Finding:
    subject = "TWILIO_SMS_FROM"
    try:
        if raw.startswith("MG"):
            return _messaging_service(client, raw)
        numbers = _numbers(client, raw)
    except Unanswered as error:
        return problem(subject, f"{raw} could not be looked up: {error}",
                       "run the doctor again; if it persists, check it in the Twilio console")
    if not numbers:
        return problem(subject, f"{raw} is not a number on this account",
                       "set TWILIO_SMS_FROM to one of the account's numbers (Phone Numbers > "
                       "Active numbers) or to a Messaging Service SID")
    capabilities = numbers[0].capabilities or {}
    if isinstance(capabilities, dict) and capabilities.get("sms") is False:
        return problem(subject, f"{raw} is on this account but cannot send SMS",
                       "set TWILIO_SMS_FROM to a number with SMS, or a Messaging Service SID")
    return ok(subject, f"{raw}: a number on this account that sends SMS")


def _messaging_service(client: Client, sid: str) -> Finding:
    subject = "TWILIO_SMS_FROM"
    try:
        service = ask(client.messaging.v1.services(sid).fetch)
    except Unanswered as error:
        if error.status == 404:
            return problem(subject, f"there is no Messaging Service {sid} on this account",
                           "copy the Messaging Service SID (MG...) from Messaging > Services, "
                           "or set TWILIO_SMS_FROM to a number")
        raise
    senders = ask(lambda: client.messaging.v1.services(sid).phone_numbers.list(limit=1))
    if not senders:
        return problem(subject, f"Messaging Service {service.friendly_name} ({sid}) has no "
                                "numbers to send from",
                       "add a number to its Sender Pool (Messaging > Services)")
    return ok(subject, f"Messaging Service {service.friendly_name} ({sid}), with numbers to "
                       "send from")


# --- TWILIO_TEMPLATES -------------------------------------------------------------------------

def _load(d: Deployment) -> tuple[templates_map.TemplateMap | None, Finding]:
    path = d.get("TWILIO_TEMPLATES")
    try:
        found = templates_map.load(path)
    except templates_map.TemplateMapError as error:
        reason = "; ".join(line.strip() for line in str(error).splitlines())
        return None, problem("TWILIO_TEMPLATES", reason,
                             "correct the entries named (README: Twilio setup); kadam worker "
                             "refuses to start until then")
    keys = {template.key for template in found}
    return found, ok("TWILIO_TEMPLATES", f"{path}: {len(found)} templates for {len(keys)} "
                                         "message keys")


def _templates_file(d: Deployment) -> list[Finding]:
    return [_load(d)[1]] if d.get("TWILIO_TEMPLATES") else []


def _templates(client: Client, d: Deployment) -> list[Finding]:
    whatsapp = bool(d.get("TWILIO_WHATSAPP_FROM"))
    if not d.get("TWILIO_TEMPLATES"):
        if not whatsapp:
            return []
        return [problem("TWILIO_TEMPLATES", "not set: outside WhatsApp's 24-hour window "
                                            "invitations, task prompts, reminders and digests "
                                            "go by SMS, or are not sent", TEMPLATES_FIX)]
    found, read = _load(d)
    if found is None:
        return [read]
    findings = [read]
    missing = [key for key in templates_map.SCHEDULED_VARIABLES if not found.find(key, "en")]
    if whatsapp and missing:
        findings.append(problem("TWILIO_TEMPLATES", "no English template for "
                                f"{', '.join(missing)}: outside the 24-hour window these go "
                                "by SMS, or are not sent", TEMPLATES_FIX))
    return findings + _content(client, found)


def _content(client: Client, found: templates_map.TemplateMap) -> list[Finding]:
    """Each mapped content SID among the account's templates, approved for WhatsApp."""
    uses: dict[str, list[str]] = {}
    for template in found:
        uses.setdefault(template.content_sid, []).append(f"{template.key} {template.language}")
    if not uses:
        return []
    try:
        listed = ask(lambda: client.content.v1.content_and_approvals.list(page_size=500))
    except Unanswered as error:
        return [problem("WhatsApp templates", f"the account's templates could not be listed: "
                                              f"{error}",
                        "run the doctor again; if it persists, check the templates in Content "
                        "Template Builder")]
    approval = {item.sid: (item.approval_requests or {}).get("status") for item in listed}
    findings = []
    for sid, where in sorted(uses.items()):
        used = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
        if sid not in approval:
            findings.append(problem("WhatsApp templates", f"{sid} ({used}) is not a template "
                                                          "on this account",
                                    "copy the Content SID (HX...) from Content Template "
                                    "Builder into the TWILIO_TEMPLATES file"))
        elif approval[sid] != "approved":
            findings.append(problem("WhatsApp templates", f"{sid} ({used}) is "
                                                          f"{approval[sid] or 'not submitted'} "
                                                          "for WhatsApp, which sends only "
                                                          "approved templates",
                                    "submit it for approval, or correct and resubmit it, in "
                                    "Content Template Builder"))
    if not findings:
        findings.append(ok("WhatsApp templates", f"all {len(uses)} content SIDs are on this "
                                                 "account and approved for WhatsApp"))
    return findings
