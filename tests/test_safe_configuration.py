"""Configuration that refuses to be unsafe.

A real deployment (Twilio configured, or a database that is not SQLite) never starts without
SECRET_KEY: with a key per process most sign-ins fail across web processes, and photo links
would be signed with an empty key. `kadam demo`, whose sign-in is in the README, never runs
against a real database or Twilio account. What the operator sees is the reason and the fix.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot import create_app
from bot.cli import main
from bot.config import UnsafeConfiguration
from storage.models import AdminUser, Person

TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "token"}
UNREACHABLE_PG = "postgresql://kadam:hunter2@db.invalid:5432/kadam"
# Whatever the machine running the tests has set, each test says exactly what is set.
CLEAN = {name: None for name in (
    "SECRET_KEY", "DATABASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_URL",
    "TWILIO_WHATSAPP_FROM", "TWILIO_SMS_FROM", "TWILIO_TEMPLATES", "KADAM_SIMULATOR")}


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """Sets the process environment as an operator would (for create_app, read like gunicorn)."""
    for name in CLEAN:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))

    def apply(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return apply


@pytest.mark.parametrize("variables, reason", [
    (TWILIO, "Twilio is configured"),
    ({"DATABASE_URL": UNREACHABLE_PG}, "the database is not SQLite"),
])
def test_the_web_process_refuses_to_start_without_a_secret_key(environment, tmp_path,
                                                                variables, reason):
    environment(**{"DATABASE_URL": f"sqlite:///{tmp_path / 'kadam.db'}", **variables})
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    message = str(refused.value)
    assert "SECRET_KEY is not set" in message and reason in message
    assert "token_hex" in message  # how to make one


def test_the_web_process_starts_with_a_secret_key(environment, db):
    environment(DATABASE_URL=db.url, SECRET_KEY="k" * 64, **TWILIO)
    app = create_app()
    assert app.config["SECRET_KEY"] == "k" * 64
    assert app.test_client().get("/healthz").status_code == 200
    app.extensions["kadam.db"].dispose()


def test_the_demo_and_the_tests_need_no_key(environment, tmp_path):
    """SQLite and the console channel: one process, nothing reachable by Twilio."""
    environment(DATABASE_URL=f"sqlite:///{tmp_path / 'kadam.db'}")
    app = create_app()
    assert len(app.config["SECRET_KEY"]) >= 32
    app.extensions["kadam.db"].dispose()


def test_the_worker_runs_without_a_key_only_on_sqlite_and_the_console(environment, db):
    """On SQLite it sends what is due; on PostgreSQL it refuses, saying why."""
    environment(DATABASE_URL=db.url)
    result = CliRunner().invoke(main, ["worker", "--once"])
    if db.url.startswith("sqlite"):
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert "SECRET_KEY is not set, and the database is not SQLite" in result.output


@pytest.mark.parametrize("command", [["worker"], ["worker", "--once"], ["clock"], ["tick"]])
def test_worker_and_clock_refuse_twilio_without_a_key(environment, tmp_path, command):
    database = tmp_path / "kadam.db"
    environment(DATABASE_URL=f"sqlite:///{database}", **TWILIO)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 1
    assert "SECRET_KEY is not set, and Twilio is configured" in result.output
    assert "Set SECRET_KEY" in result.output
    assert not database.exists()  # refused before anything was opened


def test_the_demo_refuses_a_database_that_is_not_sqlite(environment, db):
    """It would create admin@example.org / kadam-demo there. The password in DATABASE_URL is
    not printed."""
    url = UNREACHABLE_PG if db.url.startswith("sqlite") else db.url
    environment(DATABASE_URL=url)
    result = CliRunner().invoke(main, ["demo", "--no-server"])
    assert result.exit_code == 1
    assert "kadam demo runs only on a SQLite file" in result.output
    assert "admin@example.org" in result.output and "Nothing was created" in result.output
    assert "hunter2" not in result.output
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AdminUser)) == 0
        assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_the_demo_refuses_twilio_credentials(environment, tmp_path):
    database = tmp_path / "demo.db"
    environment(DATABASE_URL=f"sqlite:///{database}", **TWILIO)
    result = CliRunner().invoke(main, ["demo", "--no-server"])
    assert result.exit_code == 1
    assert "unset TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.output
    assert not database.exists()


def test_the_demo_turns_on_the_simulator_and_shows_its_sign_in(environment, tmp_path,
                                                                monkeypatch):
    """`kadam demo` on its defaults: the simulator asks for the demo's sign-in, which the
    sign-in page shows (only in the demo)."""
    import bot.cli.demo

    environment(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    served = {}
    monkeypatch.setattr(bot.cli.demo, "start_background", lambda database, settings: None)
    monkeypatch.setattr("flask.Flask.run", lambda app, **kwargs: served.update(app=app))
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@example.org, password kadam-demo" in result.output
    # Its own public URL: links in messages open from the page and from a phone.
    assert served["app"].config["KADAM"].public_url == "http://127.0.0.1:5000"
    assert "Links in messages start with http://127.0.0.1:5000" in result.output
    client = served["app"].test_client()
    to_login = client.get("/simulator/")
    assert to_login.status_code == 302
    login = client.get(to_login.location).get_data(as_text=True)
    assert "sign in as <code>admin@example.org</code>, password <code>kadam-demo</code>" in login
    served["app"].extensions["kadam.db"].dispose()


def test_a_real_deployment_never_shows_the_demo_sign_in(environment, db):
    environment(DATABASE_URL=db.url, SECRET_KEY="k" * 64)
    app = create_app()
    assert "kadam-demo" not in app.test_client().get("/admin/login").get_data(as_text=True)
    app.extensions["kadam.db"].dispose()


def test_gunicorn_serving_the_app_exits_saying_why(tmp_path):
    """The Procfile's web process, as a platform starts it: it stops, with the reason."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.update(TWILIO, DATABASE_URL=f"sqlite:///{tmp_path / 'kadam.db'}",
               MEDIA_DIR=str(tmp_path / "media"))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    started = subprocess.run([str(gunicorn), "--workers", "1", "--bind", "127.0.0.1:0",
                              "bot:create_app()"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode != 0
    assert "SECRET_KEY is not set, and Twilio is configured" in started.stderr
