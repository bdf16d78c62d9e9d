"""`kadam doctor`: checks a deployment and says what is wrong and how to fix it.

Run it where the processes run, with their environment. Each check prints one line: `ok` and
what it found, or `problem`, what is wrong and the fix; the exit status is 1 when anything is
wrong. It checks the variables (the ones a real deployment needs, and the form of every one
set), the database (reachable, migrated), Twilio through its API (bot/cli/doctor_twilio.py), the
media folder, and the files a regular install must carry (catalogs, phrase files, dashboard
pages, migrations). Kadam draws no text itself (the dashboard uses the phone's own fonts), so
there are no fonts to check.

The processes read their settings through bot/config.py and stop at the first bad one; the
doctor reads the raw variables, so that it names every bad one in one run.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
import phonenumbers
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.config import Settings, environment
from flows.languages import LANGUAGES
from storage.db import DEFAULT_DATABASE_URL, normalise_url
from storage.schedule import DigestTime, QuietHours

MIN_SECRET_KEY = 32
NEW_SECRET_KEY = ("set SECRET_KEY, the same value for every web, worker and clock process, to "
                  "the output of `python3 -c 'import secrets; print(secrets.token_hex(32))'`")
REINSTALL = ("install Kadam from a wheel or sdist built from the repository (`pip install .`), "
             "which carries them as package data, rather than copying files by hand")
ON, OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ok (no fix) or a problem with its fix."""

    subject: str
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return not self.fix

    def line(self) -> str:
        if self.ok:
            return f"ok       {self.subject}: {self.detail}"
        return f"problem  {self.subject}: {self.detail}. Fix: {self.fix}"


def ok(subject: str, detail: str) -> Finding:
    return Finding(subject, detail)


def problem(subject: str, detail: str, fix: str) -> Finding:
    return Finding(subject, detail, fix)


@dataclass(frozen=True)
class Deployment:
    """The variables as the processes would find them."""

    env: Mapping[str, str]

    def get(self, name: str) -> str:
        return (self.env.get(name) or "").strip()

    @property
    def twilio(self) -> bool:
        """Whether the processes would use Twilio (both credentials set), as Settings.channel."""
        return bool(self.get("TWILIO_ACCOUNT_SID") and self.get("TWILIO_AUTH_TOKEN"))

    @property
    def database_url(self) -> str:
        return normalise_url(self.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

    @property
    def real(self) -> bool:
        """A deployment people depend on: Twilio configured, or a database server."""
        return self.twilio or not self.database_url.startswith("sqlite")

    def settings(self) -> Settings:
        """What decides the SECRET_KEY rule, as the processes apply it."""
        return Settings(database_url=self.database_url, secret_key=self.env.get("SECRET_KEY", ""),
                        twilio_account_sid=self.get("TWILIO_ACCOUNT_SID"),
                        twilio_auth_token=self.get("TWILIO_AUTH_TOKEN"))


def shown_url(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a URL)"


# --- the variables ----------------------------------------------------------------------------

def variables(d: Deployment) -> list[Finding]:
    found = [_database_url(d), *_twilio_credentials(d), _public_url(d), _secret_key(d)]
    for name, check in FORMS.items():
        raw = d.get(name)
        if raw:
            trouble = check(raw)
            found.append(problem(name, f"{raw!r} {trouble[0]}", trouble[1]) if trouble
                         else ok(name, NOTES.get((name, raw.lower()), raw)))
    return found


def _database_url(d: Deployment) -> Finding:
    raw = d.get("DATABASE_URL")
    if not raw:
        return ok("DATABASE_URL", "not set: the SQLite file kadam.db in the folder the processes "
                                  "run in (for trying Kadam and small pilots on one machine)")
    try:
        backend = make_url(normalise_url(raw)).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend not in ("sqlite", "postgresql"):
        return problem("DATABASE_URL", "is not a SQLite or PostgreSQL URL",
                       "set it to postgresql://user:password@host/database "
                       "(or sqlite:///path/to/kadam.db for a pilot on one machine)")
    if backend == "sqlite":
        return ok("DATABASE_URL", f"{shown_url(raw)}: SQLite, for one machine")
    return ok("DATABASE_URL", f"{shown_url(raw)}: PostgreSQL")


def _twilio_credentials(d: Deployment) -> list[Finding]:
    sid, token = d.get("TWILIO_ACCOUNT_SID"), d.get("TWILIO_AUTH_TOKEN")
    subject = "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"
    if not sid and not token:
        return [ok(subject, "not set: the console channel (nothing is sent; messages stay in "
                            "the database)")]
    if not (sid and token):
        missing = "TWILIO_AUTH_TOKEN" if sid else "TWILIO_ACCOUNT_SID"
        return [problem(subject, f"{missing} is not set, so Kadam sends nothing (the console "
                                 "channel)", "set both, from the Twilio console's Account "
                                             "Info, or neither")]
    found = []
    if not is_sid(sid, "AC"):
        found.append(problem("TWILIO_ACCOUNT_SID", f"{sid!r} is not an Account SID (AC and 32 "
                                                   "hex digits)",
                             "copy the Account SID from the Twilio console's Account Info"))
    whatsapp, sms = d.get("TWILIO_WHATSAPP_FROM"), d.get("TWILIO_SMS_FROM")
    if not whatsapp and not sms:
        found.append(problem("TWILIO_WHATSAPP_FROM, TWILIO_SMS_FROM", "neither is set: no "
                                                                      "message can be sent",
                             "set TWILIO_WHATSAPP_FROM to the WhatsApp sender and/or "
                             "TWILIO_SMS_FROM to the SMS number or Messaging Service SID"))
    if whatsapp and not is_phone(whatsapp.removeprefix("whatsapp:")):
        found.append(problem("TWILIO_WHATSAPP_FROM", f"{whatsapp!r} is not a phone number",
                             "write the WhatsApp sender as +14155238886 (or "
                             "whatsapp:+14155238886)"))
    if sms and not (is_phone(sms) or is_sid(sms, "MG")):
        found.append(problem("TWILIO_SMS_FROM", f"{sms!r} is neither a phone number nor a "
                                                "Messaging Service SID",
                             "write the number as +919812345678, or the service as MG and "
                             "32 hex digits"))
    return found


def _public_url(d: Deployment) -> Finding:
    raw = d.get("PUBLIC_URL")
    example = "e.g. https://kadam.example.org"
    if not raw:
        if d.twilio:
            return problem("PUBLIC_URL", "not set, and Twilio is configured: every webhook "
                                         "would be refused (signatures are checked against "
                                         "PUBLIC_URL) and no delivery status would come back",
                           f"set PUBLIC_URL to the https address Twilio reaches the web "
                           f"process at, {example}")
        if d.real:
            return problem("PUBLIC_URL", "not set: the photo links in officers' digests would "
                                         "have no address",
                           f"set PUBLIC_URL to the https address of the web process, {example}")
        return ok("PUBLIC_URL", "not set (needed once Twilio calls the web process)")
    parts = urlsplit(raw)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or any(c.isspace() for c in raw)):
        return problem("PUBLIC_URL", f"{raw!r} is not a web address",
                       f"set it to the address alone, without ? or #, {example}")
    if d.real and parts.scheme != "https":
        return problem("PUBLIC_URL", f"{raw} is not https: webhooks and photo links would "
                                     "travel in the clear and the dashboard's cookie could be "
                                     "read on the way",
                       "serve the web process over https (a platform router or a proxy with "
                       "a certificate) and set PUBLIC_URL to its https address")
    if d.twilio and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return problem("PUBLIC_URL", f"{raw} is this machine: Twilio cannot reach it",
                       f"set it to the public https address of the web process, {example}")
    return ok("PUBLIC_URL", raw)


def _secret_key(d: Deployment) -> Finding:
    key = d.env.get("SECRET_KEY") or ""
    if not key:
        if d.settings().missing_secret_key():
            why = ("Twilio is configured" if d.twilio else "the database is not SQLite")
            return problem("SECRET_KEY", f"not set, and {why}: the web process, kadam worker "
                                         "and kadam clock refuse to start", NEW_SECRET_KEY)
        return ok("SECRET_KEY", "not set: each process makes its own, which does for the demo "
                                "(required once Twilio is configured or the database is not "
                                "SQLite)")
    if len(key) < MIN_SECRET_KEY:
        return problem("SECRET_KEY", f"only {len(key)} characters: a short key can be guessed, "
                                     "and whoever has it can sign in to the dashboard as anyone "
                                     "and forge photo links", NEW_SECRET_KEY)
    return ok("SECRET_KEY", f"set ({len(key)} characters)")


def is_sid(text: str, prefix: str) -> bool:
    """A Twilio SID: its two-letter prefix and 32 hex digits."""
    return (len(text) == 34 and text.startswith(prefix)
            and all(c in "0123456789abcdefABCDEF" for c in text[2:]))


def is_phone(text: str) -> bool:
    digits = text[1:]
    return text.startswith("+") and digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15


# Each optional variable's form: a check returns None, or (what is wrong, the fix).
Trouble = tuple[str, str] | None


def _number(whole: bool, least: float, example: str) -> Callable[[str], Trouble]:
    kind = "a whole number" if whole else "a number"

    def check(raw: str) -> Trouble:
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            return f"is not {kind}", f"set it to {example}"
        if not math.isfinite(value) or value < least:
            return f"must be {kind} of at least {least:g}", f"set it to {example}"
        return None

    return check


def _one_of(*allowed: str, fold: Callable[[str], str] = str.lower) -> Callable[[str], Trouble]:
    def check(raw: str) -> Trouble:
        if fold(raw) in allowed:
            return None
        return f"is not one of {', '.join(a for a in allowed if a)}", \
            f"set it to one of {', '.join(a for a in allowed if a)}"

    return check


def _time_zone(raw: str) -> Trouble:
    try:
        ZoneInfo(raw)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return "is not a time zone", "name one the IANA way: Asia/Kolkata, Africa/Kigali"
    return None


def _quiet_hours(raw: str) -> Trouble:
    try:
        QuietHours.parse(raw)
    except ValueError:
        return "is not a span of hours", "write it as 20:00-08:00, or off"
    return None


def _digest_time(raw: str) -> Trouble:
    try:
        DigestTime.parse(raw)
    except ValueError:
        return "is not a weekday and a time", "write it as MON 09:00"
    return None


def _region(raw: str) -> Trouble:
    if raw.upper() in phonenumbers.SUPPORTED_REGIONS:
        return None
    return "is not a country code", "use the two-letter code: IN, RW, KE"


def _log_level(raw: str) -> Trouble:
    if isinstance(getattr(logging, raw, None), int):
        return None
    return "is not a logging level", "use DEBUG, INFO, WARNING or ERROR (in capitals)"


FORMS: dict[str, Callable[[str], Trouble]] = {
    "MESSAGES_PER_SECOND": _number(False, 0, "the messages a worker may send a second, e.g. 10 "
                                             "(0: no limit)"),
    "WORKER_THREADS": _number(True, 1, "a whole number of threads, e.g. 8"),
    "MEDIA_MAX_BYTES": _number(True, 1, "the largest file in bytes, e.g. 16777216"),
    "CLOCK_INTERVAL_SECONDS": _number(False, 1, "the seconds between runs, e.g. 60"),
    "KADAM_TRUSTED_PROXIES": _number(True, 0, "how many proxies stand in front, e.g. 1"),
    "KADAM_LINK_DAYS": _number(True, 1, "the days an evidence link works, e.g. 30"),
    "KADAM_RETENTION_DAYS": _number(True, 1, "the days an ended campaign's messages and photos "
                                             "are kept, e.g. 365"),
    "KADAM_RETRY_HOURS": _number(False, 0.1, "the hours a message is retried before it is "
                                             "given up, e.g. 24"),
    "KADAM_INBOUND": _one_of("inline", "queue"),
    "KADAM_SIMULATOR": _one_of(*ON, *OFF),
    "KADAM_TIMEZONE": _time_zone,
    "KADAM_QUIET_HOURS": _quiet_hours,
    "KADAM_DIGEST_TIME": _digest_time,
    "KADAM_DEFAULT_REGION": _region,
    "KADAM_DEFAULT_LANGUAGE": _one_of(*(code for code, _ in LANGUAGES)),
    "LOG_LEVEL": _log_level,
}


# What a well-formed value means, where the value alone does not say.
NOTES = {("KADAM_SIMULATOR", on): f"{on}: /simulator is on, for state users signed in to the "
                                  "dashboard (it shows every name and phone in the roster)"
         for on in ON}


# --- the database -----------------------------------------------------------------------------

def database(d: Deployment, connect_timeout: int = 10) -> list[Finding]:
    from storage.migrate import schema_state

    url = d.database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        return []  # the variable's own line says so
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        return []
    shown = shown_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        file = Path(str(parsed.database))
        if not file.exists():
            return [problem("database", f"no SQLite file at {file.resolve()}",
                            "run `kadam db upgrade` in the folder the processes run in, or "
                            "correct DATABASE_URL")]
    try:
        state = schema_state(url, connect_timeout)
    except DBAPIError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return [problem("database", f"cannot reach {shown}: {reason}",
                        "check DATABASE_URL (host, port, user, password, database name) and "
                        "that the server accepts connections from this machine")]
    if state.current is None:
        return [problem("database", f"{shown} has no schema", "run `kadam db upgrade`")]
    if not state.known:
        return [problem("database", f"{shown} is at migration {state.current}, which this "
                                    "release does not know (a newer release migrated it)",
                        "deploy the release that migrated it")]
    if not state.is_current:
        return [problem("database", f"{shown} is at migration {state.current}; this release "
                                    f"needs {state.head}",
                        "run `kadam db upgrade` (the Procfile's release)")]
    return [ok("database", f"{shown} reachable, schema up to date ({state.head})")]


# --- the media folder -------------------------------------------------------------------------

def media(d: Deployment) -> list[Finding]:
    folder = Path(d.get("MEDIA_DIR") or "media").absolute()
    fix = ("give the user the processes run as write access to it, or set MEDIA_DIR to a folder "
           "it can write (shared by every web and worker process)")
    if folder.exists() and not folder.is_dir():
        return [problem("MEDIA_DIR", f"{folder} is a file, not a folder", fix)]
    if folder.is_dir():
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".kadam-doctor-") as probe:
                probe.write(b"kadam doctor")
                probe.flush()
        except OSError as error:
            return [problem("MEDIA_DIR", f"{folder} is not writable ({error.strerror})", fix)]
        free = shutil.disk_usage(folder).free / 1e9
        return [ok("MEDIA_DIR", f"{folder} is writable, {free:.1f} GB free")]
    parent = next(p for p in folder.parents if p.exists())
    if not parent.is_dir():
        return [problem("MEDIA_DIR", f"{folder} cannot be made: {parent} is a file", fix)]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [problem("MEDIA_DIR", f"{folder} does not exist and cannot be made ({parent} "
                                     "is not writable)", fix)]
    return [ok("MEDIA_DIR", f"{folder} does not exist yet; the worker makes it for the first "
                            "photo")]


# --- what a regular install carries -----------------------------------------------------------

def _package_folder(package: str, name: str) -> Path:
    return Path(str(resources.files(package) / name))


def installed_files(locales: Path | None = None, phrases: Path | None = None,
                    pages: Path | None = None, migrations: Path | None = None) -> list[Finding]:
    """The catalogs, phrase files, dashboard pages and migrations, found as the processes find
    them (importlib.resources)."""
    from bot.language.i18n import DOMAIN, LOCALES_DIR
    from storage.migrate import MIGRATIONS

    locales = locales or LOCALES_DIR
    phrases = phrases or _package_folder("flows", "phrases")
    pages = pages or _package_folder("bot.web", "templates")
    migrations = migrations or MIGRATIONS
    codes = [code for code, _ in LANGUAGES]
    return [
        _all_there("catalogs", locales, {f"{c}/LC_MESSAGES/{DOMAIN}.po": c for c in codes},
                   "the catalogs of {missing}: people who read them would get English"),
        _all_there("phrase files", phrases, {f"{c}.yaml": c for c in codes},
                   "the phrase files of {missing}: replies in them would not be understood"),
        _all_there("dashboard pages", pages, {name: name for name in (
            "simulator.html", "admin/base.html", "admin/login.html", "admin/home.html")},
                   "{missing}: the dashboard would answer 500"),
        _all_there("migrations", migrations, {"env.py": "env.py", "versions/0001_*.py":
                                              "versions/"},
                   "{missing}: `kadam db upgrade` cannot run"),
    ]


def _all_there(subject: str, folder: Path, wanted: Mapping[str, str], harm: str) -> Finding:
    """Each file (a glob pattern) in `folder`, or a problem naming the missing ones."""
    missing = [label for pattern, label in wanted.items() if not any(folder.glob(pattern))]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6
                                          else "")
        return problem(subject, f"{folder} lacks " + harm.format(missing=shown), REINSTALL)
    return ok(subject, f"all present in {folder}")


# --- the command ------------------------------------------------------------------------------

def examine(env: Mapping[str, str], connect_timeout: int = 10) -> list[Finding]:
    from bot.cli.doctor_twilio import twilio

    d = Deployment(env)
    return [*variables(d), *database(d, connect_timeout), *twilio(d), *media(d),
            *installed_files()]


@click.command()
def doctor() -> None:
    """Check this deployment: variables, database, Twilio, media folder, installed files."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line a check, nothing else
    findings = examine(environment())
    for finding in findings:
        click.echo(finding.line())
    problems = sum(not finding.ok for finding in findings)
    if problems:
        click.echo(f"\n{problems} problem{'s' if problems > 1 else ''}: fix "
                   f"{'them' if problems > 1 else 'it'} and run `kadam doctor` again.")
        raise SystemExit(1)
    click.echo("\nNo problems found.")
