"""/admin/delivery: are messages reaching the schools? Counts by status, failures by Twilio
error code and by area, and opt-outs, within the user's scope."""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template, request

from bot.web.admin import blueprint, now, scope, sessions
from storage import delivery as health_store
from storage.gallery import in_scope_campaigns


@blueprint.get("/delivery")
def delivery() -> str:
    period = request.args.get("period", "7")
    if period not in health_store.PERIODS:
        period = "7"
    days = health_store.PERIODS[period]
    since = now() - dt.timedelta(days=days) if days else None
    raw = request.args.get("campaign", "").strip()
    with sessions() as session:
        campaigns = in_scope_campaigns(session, scope())
        campaign_id = int(raw) if raw.isdigit() and any(c.value == raw for c in campaigns) \
            else None
        result = health_store.health(session, scope(), campaign_id, since)
        page_zone = current_app.config["KADAM"].timezone
        waiting_total, waiting = health_store.waiting_messages(
            session, scope(), now(), current_app.config["KADAM"].quiet_hours, page_zone,
            campaign_id)
    return render_template("admin/delivery.html", health=result, campaigns=campaigns,
                           waiting=waiting, waiting_total=waiting_total, page_zone=page_zone,
                           chosen={"campaign": str(campaign_id or ""), "period": period},
                           statuses=health_store.STATUSES, failed=health_store.FAILED)
