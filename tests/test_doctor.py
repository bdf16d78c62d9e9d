"""`kadam doctor`: what an operator reads about their deployment, one line a check.

A healthy deployment (PostgreSQL or SQLite, Twilio through the local stand-in, a templates map,
a media folder) is all `ok` and exits 0; each way a deployment goes wrong is named with its fix
and exits 1.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.cli.doctor import examine, installed_files
from bot.language.templates_map import SCHEDULED_VARIABLES
from storage.migrate import upgrade
from tests.twilio_standin import TwilioStandin

WHATSAPP = "+919800011111"
SMS_NUMBER = "+919800022222"
SERVICE = "MG" + "2" * 32
TEXT_TEMPLATE = "HX" + "a" * 32
TASK_TEMPLATE = "HX" + "b" * 32
KEY = "0123456789abcdef" * 4
# Whatever the machine running the tests has set, the doctor sees only what a test sets.
READ = ("DATABASE_URL", "PUBLIC_URL", "SECRET_KEY", "MEDIA_DIR", "MEDIA_MAX_BYTES",
        "MESSAGES_PER_SECOND", "WORKER_THREADS", "CLOCK_INTERVAL_SECONDS", "KADAM_INBOUND",
        "KADAM_SIMULATOR", "KADAM_TIMEZONE", "KADAM_QUIET_HOURS", "KADAM_DIGEST_TIME",
        "KADAM_DEFAULT_REGION", "KADAM_DEFAULT_LANGUAGE", "KADAM_TRUSTED_PROXIES", "LOG_LEVEL",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM", "TWILIO_SMS_FROM",
        "TWILIO_API_URL", "TWILIO_TEMPLATES")


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        standin.add_whatsapp_sender(WHATSAPP)
        standin.add_number(SMS_NUMBER)
        standin.add_messaging_service(SERVICE, SMS_NUMBER)
        standin.add_content(TEXT_TEMPLATE)
        standin.add_content(TASK_TEMPLATE)
        yield standin


def write_templates(path: Path, document: object) -> str:
    path.write_text(json.dumps(document))
    return str(path)


@pytest.fixture
def healthy(db, twilio, tmp_path):
    """A production deployment with nothing wrong: every message key has an English template
    (one body variable), task prompts a Hindi one too."""
    templates = {key: {"en": {"content_sid": TEXT_TEMPLATE, "variables": ["text"]}}
                 for key in SCHEDULED_VARIABLES}
    templates["task.prompt"]["hi"] = {"content_sid": TASK_TEMPLATE,
                                      "variables": ["position", "total", "title"]}
    (tmp_path / "media").mkdir()
    return {
        "DATABASE_URL": db.url, "PUBLIC_URL": "https://kadam.example.org", "SECRET_KEY": KEY,
        "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_API_URL": twilio.url, "TWILIO_WHATSAPP_FROM": f"whatsapp:{WHATSAPP}",
        "TWILIO_SMS_FROM": SERVICE, "TWILIO_TEMPLATES": write_templates(
            tmp_path / "templates.json", templates),
        "MEDIA_DIR": str(tmp_path / "media"), "MESSAGES_PER_SECOND": "80",
        "KADAM_INBOUND": "queue", "KADAM_TIMEZONE": "Asia/Kolkata", "LOG_LEVEL": "INFO",
    }


def problems(env: dict[str, str], subject: str | None = None) -> list[str]:
    """The problem lines (of one subject), as printed."""
    return [f.line() for f in examine(env, connect_timeout=3)
            if not f.ok and (subject is None or f.subject == subject)]


def one_problem(env: dict[str, str], subject: str) -> str:
    found = problems(env)
    assert len(found) == 1, "\n".join(found)
    assert found[0].startswith(f"problem  {subject}: "), found[0]
    assert ". Fix: " in found[0]
    return found[0]


def test_a_healthy_deployment_is_all_ok(healthy, monkeypatch):
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["doctor"], env=healthy)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "No problems found."
    checks = [line for line in lines[:-1] if line]
    assert all(line.startswith("ok       ") for line in checks), result.output
    said = "\n".join(checks)
    for subject in ("DATABASE_URL", "PUBLIC_URL", "SECRET_KEY", "database", "Twilio account",
                    "TWILIO_WHATSAPP_FROM", "TWILIO_SMS_FROM", "TWILIO_TEMPLATES",
                    "WhatsApp templates", "MEDIA_DIR", "catalogs", "phrase files",
                    "dashboard pages", "migrations", "MESSAGES_PER_SECOND"):
        assert f"ok       {subject}: " in said, subject
    assert "schema up to date" in said
    assert "all 2 content SIDs are on this account and approved for WhatsApp" in said
    assert KEY not in said and healthy["TWILIO_AUTH_TOKEN"] not in said


def test_a_problem_is_printed_with_its_fix_and_exits_1(healthy, monkeypatch):
    for name in READ:
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["doctor"], env={**healthy, "SECRET_KEY": "short"})
    assert result.exit_code == 1
    assert ("problem  SECRET_KEY: only 5 characters: a short key can be guessed"
            in result.output)
    assert "Fix: set SECRET_KEY" in result.output and "token_hex(32)" in result.output
    assert result.output.strip().endswith("1 problem: fix it and run `kadam doctor` again.")


def test_the_console_demo_on_sqlite_is_healthy(tmp_path, monkeypatch):
    """No Twilio, no key, the default media folder: what `kadam demo` runs on."""
    url = f"sqlite:///{tmp_path / 'kadam.db'}"
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    assert problems({"DATABASE_URL": url}) == []


# --- the variables ----------------------------------------------------------------------------

@pytest.mark.parametrize("changes, subject, says", [
    ({"SECRET_KEY": ""}, "SECRET_KEY", "not set, and Twilio is configured: the web process, "
                                       "kadam worker and kadam clock refuse to start"),
    ({"SECRET_KEY": "changeme"}, "SECRET_KEY", "only 8 characters"),
    ({"PUBLIC_URL": "http://kadam.example.org"}, "PUBLIC_URL", "is not https"),
    ({"PUBLIC_URL": ""}, "PUBLIC_URL", "not set, and Twilio is configured: every webhook "
                                       "would be refused"),
    ({"PUBLIC_URL": "kadam.example.org"}, "PUBLIC_URL", "is not a web address"),
    ({"PUBLIC_URL": "https://localhost:5000"}, "PUBLIC_URL", "Twilio cannot reach it"),
    ({"DATABASE_URL": "mysql://kadam@db/kadam"}, "DATABASE_URL",
     "is not a SQLite or PostgreSQL URL"),
    ({"TWILIO_ACCOUNT_SID": "US" + "1" * 32}, "TWILIO_ACCOUNT_SID", "is not an Account SID"),
    ({"TWILIO_WHATSAPP_FROM": "", "TWILIO_SMS_FROM": ""},
     "TWILIO_WHATSAPP_FROM, TWILIO_SMS_FROM", "neither is set: no message can be sent"),
    ({"TWILIO_WHATSAPP_FROM": "whatsapp:98000 11111"}, "TWILIO_WHATSAPP_FROM",
     "is not a phone number"),
    ({"TWILIO_SMS_FROM": "KADAM"}, "TWILIO_SMS_FROM",
     "is neither a phone number nor a Messaging Service SID"),
    ({"MESSAGES_PER_SECOND": "fast"}, "MESSAGES_PER_SECOND", "'fast' is not a number"),
    ({"MESSAGES_PER_SECOND": "nan"}, "MESSAGES_PER_SECOND", "must be a number of at least 0"),
    ({"WORKER_THREADS": "0"}, "WORKER_THREADS", "must be a whole number of at least 1"),
    ({"MEDIA_MAX_BYTES": "16MB"}, "MEDIA_MAX_BYTES", "is not a whole number"),
    ({"CLOCK_INTERVAL_SECONDS": "0"}, "CLOCK_INTERVAL_SECONDS", "must be a number of at least 1"),
    ({"KADAM_TRUSTED_PROXIES": "-1"}, "KADAM_TRUSTED_PROXIES", "of at least 0"),
    ({"KADAM_INBOUND": "sometimes"}, "KADAM_INBOUND", "is not one of inline, queue"),
    ({"KADAM_SIMULATOR": "maybe"}, "KADAM_SIMULATOR", "is not one of 1, true"),
    ({"KADAM_TIMEZONE": "India/Mumbai"}, "KADAM_TIMEZONE", "is not a time zone"),
    ({"KADAM_QUIET_HOURS": "night"}, "KADAM_QUIET_HOURS", "is not a span of hours"),
    ({"KADAM_QUIET_HOURS": "25:00-08:00"}, "KADAM_QUIET_HOURS", "is not a span of hours"),
    ({"KADAM_DIGEST_TIME": "someday 9"}, "KADAM_DIGEST_TIME", "is not a weekday and a time"),
    ({"KADAM_DEFAULT_REGION": "India"}, "KADAM_DEFAULT_REGION", "is not a country code"),
    ({"KADAM_DEFAULT_LANGUAGE": "klingon"}, "KADAM_DEFAULT_LANGUAGE", "is not one of en, hi"),
    ({"LOG_LEVEL": "info"}, "LOG_LEVEL", "is not a logging level"),
])
def test_a_bad_variable_is_named_with_its_fix(healthy, changes, subject, says):
    line = one_problem({**healthy, **changes}, subject)
    assert says in line


def test_every_bad_variable_is_named_in_one_run(healthy):
    found = problems({**healthy, "MESSAGES_PER_SECOND": "fast", "WORKER_THREADS": "many",
                      "KADAM_TIMEZONE": "Mars/Olympus"})
    assert [line.split(":")[0] for line in found] == [
        "problem  MESSAGES_PER_SECOND", "problem  WORKER_THREADS", "problem  KADAM_TIMEZONE"]


def test_only_one_twilio_credential_means_nothing_is_sent(tmp_path):
    line = one_problem({"TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
                        "DATABASE_URL": _migrated_sqlite(tmp_path),
                        "MEDIA_DIR": str(tmp_path)}, "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN")
    assert "TWILIO_AUTH_TOKEN is not set, so Kadam sends nothing" in line


# --- the database -----------------------------------------------------------------------------

def _migrated_sqlite(tmp_path: Path, revision: str = "head") -> str:
    url = f"sqlite:///{tmp_path / 'other.db'}"  # not the `db` fixture's kadam.db
    upgrade(url, revision)
    return url


def test_an_unreachable_database_is_named_without_its_password(healthy):
    line = one_problem({**healthy, "DATABASE_URL": "postgresql://kadam:hunter2@127.0.0.1:1/kadam"},
                       "database")
    assert "cannot reach postgresql+psycopg://kadam:***@127.0.0.1:1/kadam" in line
    assert "hunter2" not in line and "check DATABASE_URL" in line


def test_a_missing_sqlite_file_is_not_created(healthy, tmp_path):
    file = tmp_path / "elsewhere.db"
    line = one_problem({**healthy, "DATABASE_URL": f"sqlite:///{file}"}, "database")
    assert f"no SQLite file at {file}" in line and "kadam db upgrade" in line
    assert not file.exists()


def test_a_database_without_the_schema(healthy, tmp_path):
    file = tmp_path / "empty.db"
    sqlite3.connect(file).close()
    line = one_problem({**healthy, "DATABASE_URL": f"sqlite:///{file}"}, "database")
    assert "has no schema. Fix: run `kadam db upgrade`" in line


def test_a_database_behind_this_release(healthy, tmp_path):
    line = one_problem({**healthy, "DATABASE_URL": _migrated_sqlite(tmp_path, "0001")},
                       "database")
    assert "is at migration 0001; this release needs" in line
    assert "run `kadam db upgrade` (the Procfile's release)" in line


def test_a_database_migrated_by_a_newer_release(healthy, tmp_path):
    url = _migrated_sqlite(tmp_path)
    with sqlite3.connect(tmp_path / "other.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    line = one_problem({**healthy, "DATABASE_URL": url}, "database")
    assert "is at migration 0099, which this release does not know" in line


# --- Twilio -----------------------------------------------------------------------------------

def test_credentials_twilio_refuses(healthy):
    line = one_problem({**healthy, "TWILIO_AUTH_TOKEN": "rotated-token"}, "Twilio account")
    assert "Twilio refused the credentials" in line and "Account Info" in line


def test_twilio_out_of_reach(healthy):
    line = one_problem({**healthy, "TWILIO_API_URL": "http://127.0.0.1:1"}, "Twilio account")
    assert "Twilio's API cannot be reached" in line and "firewall" in line


@pytest.mark.parametrize("status, kind, says", [
    ("suspended", "Full", "is suspended: nothing can be sent"),
    ("active", "Trial", "is a trial account: it reaches only the numbers verified on it"),
])
def test_an_account_that_cannot_reach_headmasters(healthy, twilio, status, kind, says):
    twilio.account.status, twilio.account.type = status, kind
    assert says in one_problem(healthy, "Twilio account")


def test_a_whatsapp_sender_not_on_the_account(healthy):
    line = one_problem({**healthy, "TWILIO_WHATSAPP_FROM": "+919800099999"},
                       "TWILIO_WHATSAPP_FROM")
    assert "+919800099999 is neither a WhatsApp sender nor a number on this account" in line


def test_a_whatsapp_sender_still_registering(healthy, twilio):
    twilio.add_whatsapp_sender(WHATSAPP, "PENDING_VERIFICATION")
    line = one_problem(healthy, "TWILIO_WHATSAPP_FROM")
    assert "is a WhatsApp sender on this account, but pending_verification" in line


def test_a_number_of_the_account_or_the_sandbox_is_a_whatsapp_sender(healthy, twilio):
    twilio.add_number("+919800033333")
    for sender in ("+919800033333", "whatsapp:+14155238886"):
        assert problems({**healthy, "TWILIO_WHATSAPP_FROM": sender}) == []


@pytest.mark.parametrize("sender, says", [
    ("+919800099999", "+919800099999 is not a number on this account"),
    ("+919800044444", "+919800044444 is on this account but cannot send SMS"),
    ("MG" + "9" * 32, "there is no Messaging Service MG9999"),
    ("MG" + "4" * 32, "has no numbers to send from"),
])
def test_an_sms_sender_that_cannot_send(healthy, twilio, sender, says):
    twilio.add_number("+919800044444", sms=False)
    twilio.add_messaging_service("MG" + "4" * 32)
    assert says in one_problem({**healthy, "TWILIO_SMS_FROM": sender}, "TWILIO_SMS_FROM")


def test_an_sms_number_of_the_account(healthy):
    assert problems({**healthy, "TWILIO_SMS_FROM": SMS_NUMBER}) == []


# --- TWILIO_TEMPLATES -------------------------------------------------------------------------

def test_a_templates_map_that_is_missing(healthy, tmp_path):
    line = one_problem({**healthy, "TWILIO_TEMPLATES": str(tmp_path / "nowhere.yaml")},
                       "TWILIO_TEMPLATES")
    assert "which is not a file" in line and "kadam worker refuses to start" in line


def test_a_templates_map_with_bad_entries_names_each(healthy, tmp_path):
    path = write_templates(tmp_path / "bad.json", {
        "task.promt": {"en": {"content_sid": TEXT_TEMPLATE, "variables": ["text"]}},
        "nudge": {"en": {"content_sid": "HX123", "variables": ["text"]}}})
    line = one_problem({**healthy, "TWILIO_TEMPLATES": path}, "TWILIO_TEMPLATES")
    assert "task.promt: not a message key Kadam sends" in line
    assert "nudge.en.content_sid: expected HX and 32 hex digits" in line
    assert "\n" not in line


def test_templates_twilio_does_not_know_or_has_not_approved(healthy, twilio):
    twilio.account.contents.pop(TASK_TEMPLATE)
    twilio.add_content(TEXT_TEMPLATE, whatsapp="pending")
    found = problems(healthy, "WhatsApp templates")
    assert len(found) == 2, found
    assert f"{TEXT_TEMPLATE} (invitation en, invitation.reminder en, task.prompt en, " \
           "task.reminder en and 8 more) is pending for WhatsApp" in found[0]
    assert f"{TASK_TEMPLATE} (task.prompt hi) is not a template on this account" in found[1]


def test_whatsapp_without_english_templates(healthy, tmp_path):
    path = write_templates(tmp_path / "few.json", {
        "task.prompt": {"en": {"content_sid": TEXT_TEMPLATE, "variables": ["text"]}}})
    line = one_problem({**healthy, "TWILIO_TEMPLATES": path}, "TWILIO_TEMPLATES")
    assert "no English template for invitation, invitation.reminder, task.reminder" in line
    without = one_problem({**healthy, "TWILIO_TEMPLATES": ""}, "TWILIO_TEMPLATES")
    assert "not set: outside WhatsApp's 24-hour window" in without


# --- the media folder and the installed files -------------------------------------------------

def test_a_media_folder_that_is_a_file(healthy, tmp_path):
    file = tmp_path / "photos"
    file.write_text("not a folder")
    assert "is a file, not a folder" in one_problem({**healthy, "MEDIA_DIR": str(file)},
                                                    "MEDIA_DIR")
    under = one_problem({**healthy, "MEDIA_DIR": str(file / "media")}, "MEDIA_DIR")
    assert f"cannot be made: {file} is a file" in under


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_media_folder_that_is_not_writable(healthy, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    assert "is not writable" in one_problem({**healthy, "MEDIA_DIR": str(folder)}, "MEDIA_DIR")


def test_a_media_folder_made_on_the_first_photo(healthy, tmp_path):
    assert problems({**healthy, "MEDIA_DIR": str(tmp_path / "new" / "media")}) == []
    assert not (tmp_path / "new").exists()


def test_an_install_without_its_data_files(tmp_path):
    """A copy of the code without the package data: each missing kind is named."""
    (tmp_path / "locales" / "hi" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "locales" / "hi" / "LC_MESSAGES" / "messages.po").write_text("")
    for folder in ("phrases", "pages", "migrations"):
        (tmp_path / folder).mkdir()
    found = installed_files(tmp_path / "locales", tmp_path / "phrases", tmp_path / "pages",
                            tmp_path / "migrations")
    assert not any(f.ok for f in found)
    lines = "\n".join(f.line() for f in found)
    assert "lacks the catalogs of en, mr, bn, gu, kn, ta and 7 more: people who read them " \
           "would get English" in lines
    assert "lacks the phrase files of en, hi, mr" in lines
    assert "lacks simulator.html, admin/base.html" in lines
    assert "lacks env.py, versions/: `kadam db upgrade` cannot run" in lines
    assert all("Fix: install Kadam from a wheel or sdist" in f.line() for f in found)
