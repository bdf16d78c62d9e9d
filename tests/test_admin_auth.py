"""Signing in to /admin: passwords, sessions, CSRF, the login rate limit, `kadam user add`."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from storage.admin_users import FREE_TRIES, TooManyAttempts, authenticate
from storage.models import AdminUser, LoginAttempt
from tests.admin_support import NOW, PASSWORD, build_world, csrf, make_app, make_user, sign_in


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


def test_every_page_sends_a_stranger_to_the_login(app):
    client = app.test_client()
    for path in ("/admin/",):
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/admin/login" in response.headers["Location"]


def test_signing_in_shows_the_campaigns_of_the_scope(app, db, tmp_path):
    world = build_world(db, tmp_path / "media")
    make_user(db, "state@example.org")
    client = app.test_client()
    response = sign_in(client, "State@Example.org ")  # as people type it
    assert response.status_code == 302
    html = client.get("/admin/").get_data(as_text=True)
    assert "Retell the Tale, 2026" in html
    assert "ZP School" not in html  # the home page is the campaigns, not the schools
    assert f">{len(world.schools)}<" in html  # every school invited


def test_a_wrong_password_is_refused_and_says_so(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    response = sign_in(client, "state@example.org", "not the password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_sign_in_is_rate_limited(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    for _ in range(FREE_TRIES):
        assert sign_in(client, "state@example.org", "guess").status_code == 401
    # Even the right password now waits: the guesser cannot tell it was right.
    response = sign_in(client, "state@example.org", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 seconds." in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"


def test_each_failure_past_the_free_tries_doubles_the_wait_up_to_fifteen_minutes(db):
    make_user(db, "state@example.org")
    now, waits = NOW, []
    for _ in range(15):
        try:
            with db.transaction() as session:
                assert authenticate(session, "state@example.org", "guess", "10.0.0.9",
                                    now) is None
            waits.append(None)
        except TooManyAttempts as held:
            waits.append(int(held.wait.total_seconds()))
            now += held.wait  # the guesser waits exactly as long as told, and guesses again
            continue
    heard = [w for w in waits if w is None]
    held = [w for w in waits if w is not None]
    assert len(heard) == 3 + len(held)  # three free tries, then one try per wait
    assert held == [5, 10, 20, 40, 80, 160][:len(held)]
    # Ten tries later the wait is capped at fifteen minutes.
    with db.transaction() as session:
        for n in range(10):
            session.add(LoginAttempt(email="state@example.org", remote_addr="10.0.0.9",
                                     at=now + dt.timedelta(seconds=n)))
    with pytest.raises(TooManyAttempts) as held_long:
        with db.transaction() as session:
            authenticate(session, "state@example.org", PASSWORD, "10.0.0.9",
                         now + dt.timedelta(seconds=10))
    assert held_long.value.wait == dt.timedelta(minutes=15) - dt.timedelta(seconds=1)


def test_a_stranger_guessing_at_an_account_does_not_lock_its_owner_out(db, tmp_path):
    app = make_app(db, tmp_path / "media", trusted_proxies=1)
    make_user(db, "state@example.org")
    stranger, owner = app.test_client(), app.test_client()
    for n in range(10):
        assert sign_in_from(stranger, "203.0.113.7", "state@example.org", f"guess{n}") in (
            401, 429)
    assert sign_in_from(stranger, "203.0.113.7", "state@example.org", PASSWORD) == 429
    # The owner, at their own desk, signs in at once, and a mistyped password costs nothing.
    assert sign_in_from(owner, "198.51.100.2", "state@example.org", "typo") == 401
    assert sign_in_from(owner, "198.51.100.2", "state@example.org", PASSWORD) == 302
    app.extensions["kadam.db"].dispose()


def test_a_form_without_the_csrf_token_is_refused(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    response = client.post("/admin/login", data={"email": "state@example.org",
                                                 "password": PASSWORD})
    assert response.status_code == 400
    sign_in(client, "state@example.org")
    assert client.post("/admin/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200  # still signed in


def test_signing_out_ends_the_session(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    client.post("/admin/logout", data={"csrf_token": csrf(client)})
    assert client.get("/admin/").status_code == 302


def test_a_new_password_signs_out_old_sessions(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    with db.transaction() as session:
        from storage.admin_users import add_user
        add_user(session, "state@example.org", "another long password", "state", None)
    assert client.get("/admin/").status_code == 302


def test_login_does_not_redirect_off_site(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    token = csrf_of_login(client, "?next=https://evil.example/")
    response = client.post("/admin/login?next=https://evil.example/",
                           data={"email": "state@example.org", "password": PASSWORD,
                                 "csrf_token": token})
    assert response.headers["Location"].endswith("/admin/")


def csrf_of_login(client, query: str) -> str:
    from tests.admin_support import csrf_of
    return csrf_of(client.get("/admin/login" + query).get_data(as_text=True))


def test_user_add_hashes_the_password_and_checks_the_scope(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    runner = CliRunner()
    result = runner.invoke(main, ["user", "add", "deo@example.org", "--role", "district",
                                  "--scope", "Satara"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created deo@example.org (district: Satara)" in result.output
    with db.sessions() as session:
        user = session.scalars(select(AdminUser)).one()
    assert user.role == "district" and user.scope == "Satara"
    assert PASSWORD not in user.password_hash
    result = runner.invoke(main, ["user", "add", "beo@example.org", "--role", "block",
                                  "--password", PASSWORD])
    assert result.exit_code != 0
    assert "needs --scope" in result.output
    result = runner.invoke(main, ["user", "add", "x@example.org", "--role", "state",
                                  "--password", "short"])
    assert "at least 8 characters" in result.output


def test_behind_a_proxy_the_sign_in_limit_counts_each_client(db, tmp_path):
    app = make_app(db, tmp_path / "media", trusted_proxies=1)
    make_user(db, "state@example.org")
    guesser, colleague = app.test_client(), app.test_client()
    from storage.admin_users import FAILURES_PER_ADDRESS

    for n in range(FAILURES_PER_ADDRESS):
        assert sign_in_from(guesser, "203.0.113.7", f"guess{n}@example.org", "guess") == 401
    assert sign_in_from(guesser, "203.0.113.7", "state@example.org", PASSWORD) == 429
    # Another client behind the same balancer still signs in.
    assert sign_in_from(colleague, "198.51.100.2", "state@example.org", PASSWORD) == 302
    app.extensions["kadam.db"].dispose()


def sign_in_from(client, address: str, email: str, password: str) -> int:
    from tests.admin_support import csrf_of

    headers = {"X-Forwarded-For": address}
    token = csrf_of(client.get("/admin/login", headers=headers).get_data(as_text=True))
    return client.post("/admin/login", headers=headers, data={
        "email": email, "password": password, "csrf_token": token}).status_code


def test_signing_out_ends_a_copied_session_too(app, db):
    make_user(db, "state@example.org")
    client = app.test_client()
    sign_in(client, "state@example.org")
    with client.session_transaction() as stolen:
        copied = dict(stolen)
    client.post("/admin/logout", data={"csrf_token": csrf(client)})
    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(copied)
    assert thief.get("/admin/").status_code == 302
    # Signing in again works as before.
    sign_in(client, "state@example.org")
    assert client.get("/admin/").status_code == 200


def test_user_add_takes_a_piped_password_once_and_signs_in(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    result = CliRunner().invoke(main, ["user", "add", "asha@example.org", "--role", "state"],
                                input="piped password\n")
    assert result.exit_code == 0, result.output
    app = make_app(db, tmp_path / "media")
    client = app.test_client()
    assert sign_in(client, "asha@example.org", "piped password").status_code == 302
    assert client.get("/admin/").status_code == 200
    app.extensions["kadam.db"].dispose()
