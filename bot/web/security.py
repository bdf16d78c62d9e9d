"""What every page of the web app says about itself to the browser, and the sign-in cookie.

- Content-Security-Policy: no script runs on Kadam's pages (there is none), styles are the
  pages' own, images only from Kadam (evidence thumbnails), forms post only to Kadam, and no
  other site may frame a page. Evidence downloads set a stricter one of their own.
- Referrer-Policy: a link followed off the dashboard carries no path (which can hold a school
  code or a campaign).
- Strict-Transport-Security: once a browser has seen Kadam over HTTPS it never uses plain
  HTTP for it again.
- The session cookie is always `Secure`, so a sign-in never travels unencrypted, except in
  the demo and when the dashboard is opened on the machine itself (localhost), which is how a
  developer runs it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'")
REFERRER_POLICY = "same-origin"
STRICT_TRANSPORT = "max-age=31536000"
LOOPBACK = ("localhost", "127.0.0.1", "[::1]", "::1")


def is_local(req: Request) -> bool:
    return (req.host.rsplit(":", 1)[0] if not req.host.startswith("[")
            else req.host.split("]")[0] + "]") in LOOPBACK


class SessionCookie(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("DEMO_SIGN_IN"):
            return bool(app.config.get("SESSION_COOKIE_SECURE"))
        return not is_local(request)


def init_app(app: Flask) -> None:
    app.session_interface = SessionCookie()
    demo = bool(app.config.get("DEMO_SIGN_IN"))

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        if not demo and not is_local(request):
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT)
        return response
