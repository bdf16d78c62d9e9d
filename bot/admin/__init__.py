"""/admin: the state team's dashboard (progress, evidence, delivery, exports, actions).

Every page needs a signed-in user (see auth.py); every POST carries the session's CSRF token;
every query takes the user's Scope (storage/scope.py), so district and block users see only
their own schools, in pages and exports alike. Pages are server-rendered Jinja with one small
stylesheet and no script framework: they must work on a phone over a slow connection.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, abort, current_app, g, request, session
from sqlalchemy.orm import Session

from storage.db import Database
from storage.scope import Scope

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
OPEN_ENDPOINTS = {"admin.login", "admin.static"}
# The header's links, in order: (endpoint, label, for the state team only). A link shows once
# its page is registered.
NAV = (
    ("admin.evidence", "Evidence", False),
    ("admin.delivery", "Delivery", False),
    ("admin.broadcasts", "Broadcasts", True),
    ("admin.exports", "Exports", False),
    ("admin.upload_roster", "Roster", True),
    ("admin.upload_template", "Templates", True),
    ("admin.launch", "Launch", True),
)


def init_app(app: Flask) -> None:
    # Routes register on import.
    from bot.admin import (  # noqa: F401
        actions,
        auth,
        broadcast_pages,
        campaigns,
        delivery,
        exports,
        gallery,
        pages,
    )

    app.register_blueprint(blueprint)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["percent"] = percent
    app.jinja_env.filters["when"] = when
    app.context_processor(_nav)


def _nav() -> dict[str, Any]:
    user = g.get("user")
    if user is None:
        return {"admin_nav": []}
    links = [(endpoint, label) for endpoint, label, state in NAV
             if endpoint in current_app.view_functions and (user.role == "state" or not state)]
    return {"admin_nav": links}


def db() -> Database:
    return current_app.extensions["kadam.db"]


def sessions() -> Session:
    """A read session for one page (use as a context manager)."""
    return db().sessions()


def scope() -> Scope:
    """The signed-in user's scope."""
    return g.scope  # type: ignore[no-any-return]


def state_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """For what only the state team may do (launch, broadcast, upload, pick celebrations)."""
    from functools import wraps

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user.role != "state":
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token  # type: ignore[no-any-return]


@blueprint.before_request
def _guard() -> Any:
    from bot.admin.auth import load_user, to_login

    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "This form has expired. Go back, reload the page and try again.")
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not load_user():
        return to_login()
    return None


@blueprint.after_request
def _no_cache(response: Any) -> Any:
    # Pages hold names and phone numbers: never keep them in a shared cache.
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def number(value: Any) -> str:
    """1234567 -> 12,34,567 in the Indian grouping when the region is IN, else 1,234,567."""
    from babel.numbers import format_decimal

    from bot.i18n import locale_for

    return format_decimal(int(value or 0), locale=locale_for("en"))


def percent(part: Any, whole: Any) -> str:
    return f"{round(100 * (part or 0) / whole)}%" if whole else "–"


def when(value: Any) -> str:
    """A UTC time as the dashboard shows it: in KADAM_TIMEZONE, to the minute."""
    if value is None:
        return ""
    from storage.schedule import zone

    local = value.astimezone(zone(current_app.config["KADAM"].timezone))
    return local.strftime("%d %b %Y %H:%M")
