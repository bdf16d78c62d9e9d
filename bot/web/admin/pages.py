"""The dashboard's home page: the campaigns in the user's scope."""

from __future__ import annotations

from flask import render_template

from bot.web.admin import blueprint, scope, sessions
from storage.dashboard import campaign_summaries


@blueprint.get("/")
def home() -> str:
    with sessions() as session:
        campaigns = campaign_summaries(session, scope())
    return render_template("admin/home.html", campaigns=campaigns)
