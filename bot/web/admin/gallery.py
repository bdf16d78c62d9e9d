"""/admin/evidence: the photos headmasters sent and the stories they agreed to share.

Filtered by campaign, district, block and task within the user's scope; every photo is served
through a scope check (another area's photo is a 404, as if it did not exist). The state team
picks photos and stories for celebrations here; `kadam celebrate` then sends the picked
stories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from bot.web.admin import (
    MAX_ID,
    blueprint,
    db,
    is_admin_path,
    now,
    scope,
    sessions,
    state_only,
    whole,
)
from bot.web.evidence import evidence_file
from storage import gallery


def _page(name: str) -> int:
    return max(1, min(whole(request.args.get(name)) or 1, 100_000))


@blueprint.get("/evidence")
def evidence() -> str:
    campaign_id = whole(request.args.get("campaign"))
    if campaign_id is not None and campaign_id > MAX_ID:
        abort(404, "No such campaign.")
    district = request.args.get("district", "").strip()
    block = request.args.get("block", "").strip()
    task = request.args.get("task", "").strip()
    picked = request.args.get("picked") == "1"
    narrowed = scope().narrowed(district or None, block or None)
    with sessions() as session:
        menus = gallery.filters(session, scope(), campaign_id, district or None)
        photos = gallery.photos(session, narrowed, campaign_id, task or None, picked,
                                _page("page"))
        stories = gallery.stories(session, narrowed, campaign_id, picked, _page("stories"))
    campaigns = {int(c.value): c.label for c in menus.campaigns}
    chosen = {"campaign": str(campaign_id or ""), "district": district, "block": block,
              "task": task, "picked": "1" if picked else ""}

    def link(**changes: Any) -> str:
        """This page's URL with some arguments changed (page numbers 1 are left out)."""
        args = {**chosen, "page": photos.page, "stories": stories.page, **changes}
        return url_for("admin.evidence",
                       **{k: v for k, v in args.items() if v not in ("", None, 1)})

    return render_template(
        "admin/evidence.html", menus=menus, photos=photos, stories=stories, chosen=chosen,
        campaigns=campaigns, link=link,
        school_link="admin.school" in current_app.view_functions,
        can_pick=_can_pick())


def _can_pick() -> bool:
    return bool(g.user.role == "state")


@blueprint.get("/evidence/<int:evidence_id>/photo")
def evidence_photo(evidence_id: int) -> Any:
    with sessions() as session:
        stored = gallery.stored_file(session, scope(), evidence_id)
    if stored is None:
        abort(404)
    root = Path(current_app.config["KADAM"].media_dir).resolve()
    path = (root / stored.path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    return evidence_file(path, stored.content_type)


def _back() -> Any:
    target = request.form.get("next", "")
    if is_admin_path(target):
        return redirect(target)
    return redirect(url_for("admin.evidence"))


@blueprint.post("/evidence/<int:evidence_id>/pick")
@state_only
def pick_photo(evidence_id: int) -> Any:
    picked = request.form.get("picked", "1") == "1"
    with db().transaction() as session:
        found = gallery.pick_photo(session, evidence_id, picked, now())
    if not found:
        abort(404)
    flash("Photo picked for a celebration." if picked else "Photo no longer picked.")
    return _back()


@blueprint.post("/projects/<int:project_id>/pick-story")
@state_only
def pick_story(project_id: int) -> Any:
    picked = request.form.get("picked", "1") == "1"
    with db().transaction() as session:
        found = gallery.pick_story(session, project_id, picked, now())
    if not found:
        abort(404)
    flash("Story picked: `kadam celebrate` sends the picked stories." if picked
          else "Story no longer picked.")
    return _back()
