"""Every page tells the browser how to treat it, and the sign-in cookie never travels in the
clear outside the demo and a developer's own machine (issue 13)."""

from __future__ import annotations

import pytest

from tests.admin_support import PASSWORD, add_users, csrf_of, make_app


@pytest.fixture
def app(db, tmp_path):
    add_users(db)
    app = make_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


def _sign_in(client, base_url):
    """The sign-in page's cookie, then the signed-in one."""
    page = client.get("/admin/login", base_url=base_url)
    signed_in = client.post("/admin/login", base_url=base_url, data={
        "email": "state@example.org", "password": PASSWORD,
        "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    return page.headers["Set-Cookie"], signed_in.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/admin/login", "/healthz"])
def test_pages_forbid_scripts_framing_and_referrers(app, path):
    response = app.test_client().get(path, base_url="https://kadam.example.org")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_sign_in_cookie_is_secure_on_a_server_even_without_an_https_public_url(app):
    # PUBLIC_URL is unset here; a server reached by its name still gets a Secure cookie.
    for cookie in _sign_in(app.test_client(), "http://kadam.example.org"):
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_on_this_machine_the_cookie_works_over_plain_http(app):
    client = app.test_client()
    for cookie in _sign_in(client, "http://127.0.0.1:5000"):
        assert "Secure" not in cookie
    home = client.get("/admin/", base_url="http://127.0.0.1:5000")
    assert home.status_code == 200 and "Strict-Transport-Security" not in home.headers
