"""Signing in and out of the dashboard.

The session cookie (signed with SECRET_KEY) holds the user's id and a fingerprint of their
password hash, so changing a password with `kadam user add` signs out every old session; the
user is read on every request, so `kadam user disable` or `remove` ends them at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for

from bot.web.admin import blueprint, db, is_admin_path
from storage.admin_users import (
    AccountDisabled,
    TooManyAttempts,
    authenticate,
    sign_out_everywhere,
    user_by_id,
)
from storage.models import AdminUser
from storage.scope import Scope

SESSION_HOURS = 12


def _fingerprint(user: AdminUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def load_user() -> bool:
    """Puts the signed-in user and their scope on `g`; False when nobody valid is signed in."""
    user_id = session.get("user")
    if not user_id:
        return False
    signed_in = session.get("since", 0)
    if dt.datetime.now(dt.UTC).timestamp() - signed_in > SESSION_HOURS * 3600:
        session.clear()
        return False
    with db().sessions() as s:
        user = user_by_id(s, user_id)
        if user is None or session.get("key") != _fingerprint(user) or (
                user.signed_out_at is not None
                and signed_in <= user.signed_out_at.timestamp()) or (
                user.disabled_at is not None):
            session.clear()
            return False
        # Read every time, not at sign-in: a roster uploaded since may have added a block of
        # the same name in another district.
        g.scope, g.scope_problem = Scope.of(user.role, user.scope).pinned(s)
    g.user = user
    return True


def to_login() -> Any:
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (the dashboard, or the simulator, which signs in through it):
    a login link must not bounce anyone elsewhere."""
    if target and is_admin_path(target, ("/admin/", "/simulator/")):
        return target
    return url_for("admin.home")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    retry_after = 0
    status = 200
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        now = dt.datetime.now(dt.UTC)
        try:
            with db().transaction() as s:
                user = authenticate(s, email, password, request.remote_addr or "", now)
                if user is not None:
                    s.flush()
                    user_id, key = user.id, _fingerprint(user)
        except TooManyAttempts as refused:
            retry_after = max(1, math.ceil(refused.wait.total_seconds()))
            error = f"Too many failed sign-ins. Try again in {_duration(retry_after)}."
            status = 429
        except AccountDisabled:
            error = "This account is disabled. Ask the state team to enable it."
            status = 403
        else:
            if user is not None:
                # A fresh session, CSRF token included: a token seen or set before sign-in
                # (on a shared computer, say) must not be good for the signed-in user's forms.
                session.clear()
                session.update(user=user_id, key=key, since=now.timestamp(),
                               csrf=secrets.token_urlsafe(32))
                session.permanent = True
                return redirect(_safe_next(request.args.get("next")))
            error = "That e-mail address and password do not match."
            status = 401
    headers = {"Retry-After": str(retry_after)} if status == 429 else {}
    return render_template("admin/login.html", error=error, email=email,
                           demo=current_app.config.get("DEMO_SIGN_IN")), status, headers


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@blueprint.post("/logout")
def logout() -> Any:
    """Ends this session and every other one of the same user begun before now: a session
    cookie copied off a shared computer stops working too."""
    if load_user():
        with db().transaction() as s:
            sign_out_everywhere(s, g.user.id, dt.datetime.now(dt.UTC))
    session.clear()
    return redirect(url_for("admin.login"))
