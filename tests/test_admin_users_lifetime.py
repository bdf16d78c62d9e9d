"""`kadam user disable|enable|remove`: a dashboard user who leaves cannot sign in, and the
sessions they have open end at their next click. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.admin_users import authenticate
from storage.learning import TaughtPhrase
from storage.models import AdminUser, LoginAttempt
from tests.admin_support import make_app, make_user, sign_in

EMAIL = "deo.satara@example.org"


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


@pytest.fixture
def kadam(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(app, db, kadam):
    make_user(db, EMAIL)
    colleague = "state@example.org"
    make_user(db, colleague)
    theirs, others = app.test_client(), app.test_client()
    assert sign_in(theirs, EMAIL).status_code == 302
    assert sign_in(others, colleague).status_code == 302

    result = kadam("user", "disable", "Deo.Satara@example.org ")

    assert result.exit_code == 0, result.output
    assert f"disabled {EMAIL}" in result.output
    # The open session ends at the next click; a colleague's does not.
    response = theirs.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert others.get("/admin/").status_code == 200
    # The right password is answered "disabled"; a wrong one as any wrong one.
    refused = sign_in(theirs, EMAIL)
    assert refused.status_code == 403
    assert "This account is disabled" in refused.get_data(as_text=True)
    assert sign_in(theirs, EMAIL, "a wrong guess").status_code == 401
    assert theirs.get("/admin/").status_code == 302
    listed = kadam("user", "list")
    assert f"{EMAIL}\tstate" in listed.output and "\tdisabled " in listed.output

    assert kadam("user", "enable", EMAIL).exit_code == 0
    assert sign_in(theirs, EMAIL).status_code == 302
    assert theirs.get("/admin/").status_code == 200


def test_a_removed_user_is_gone_with_their_address(app, db, kadam):
    make_user(db, EMAIL)
    client = app.test_client()
    assert sign_in(client, EMAIL).status_code == 302
    with db.transaction() as session:
        # A failed sign-in, as the sign-in page records it: on the real clock, which the
        # sign-ins through the app around it read too.
        authenticate(session, EMAIL, "a wrong guess", "203.0.113.7",
                     dt.datetime.now(dt.UTC))
        session.add(TaughtPhrase(language="mr", phrase="zala nahi ajun",
                                 normalised="zala nahi ajun", intent="in_progress",
                                 taught_by=EMAIL))

    result = kadam("user", "remove", EMAIL)

    assert result.exit_code == 0, result.output
    assert f"removed {EMAIL}" in result.output
    assert client.get("/admin/").status_code == 302
    assert sign_in(client, EMAIL).status_code == 401
    with db.sessions() as session:
        assert session.scalars(select(AdminUser)).all() == []
        # Their failed sign-ins went with them (the attempt after removal is a stranger's).
        attempts = session.scalars(select(LoginAttempt.remote_addr)).all()
        assert "203.0.113.7" not in attempts
        taught = session.scalars(select(TaughtPhrase)).one()
        assert (taught.phrase, taught.taught_by) == ("zala nahi ajun", "a removed user")
    assert "zala nahi ajun" in kadam("phrases", "list").output


@pytest.mark.parametrize("command", ["disable", "enable", "remove"])
def test_an_unknown_user_is_an_error(db, kadam, command):
    result = kadam("user", command, "nobody@example.org")
    assert result.exit_code == 1
    assert "no dashboard user 'nobody@example.org'" in result.output

