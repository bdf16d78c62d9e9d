"""Replies Kadam kept, for the "Replies not understood" page's tests (in a test client and in
a browser)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage import phrases
from storage.campaigns import launch
from storage.db import Database
from storage.models import Person, Project, School
from tests.admin_support import NOW, add_users, build_world
from tests.factories import make_template


def build_replies(db: Database, media_dir: Path) -> dict[str, Any]:
    """build_world's state with Satara's headmasters writing Marathi and Pune's Hindi, a
    second campaign in Wai, and the replies Kadam kept from them."""
    world = build_world(db, media_dir)
    add_users(db)
    with db.transaction() as session:
        for person, district in session.execute(
                select(Person, School.district).join(School, School.id == Person.school_id)):
            person.language = "mr" if district == "Satara" else "hi"
        make_template(session, "enrol", title={"en": "Enrolment drive"})
    second = launch(db, "enrol", ["block:Wai"], NOW.date(), name="Enrolment drive 2026",
                    now=NOW).campaign_id
    with db.transaction() as session:
        phones = {school.code: person for person, school in session.execute(
            select(Person, School).join(School, School.id == Person.school_id))}
        wai, haveli = phones["SAWA1"], phones["PUHA1"]
        wai_second = session.scalar(select(Project.id).where(
            Project.headmaster_id == wai.id, Project.campaign_id == second))
        for minutes, person, text, read, reason, project in (
                (1, wai, "kal karto", "unknown", "not_understood", wai_second),
                (5, haveli, "ho gaya", "done", "undone", None),
                (10, haveli, "kaam chalu hai par photo nahi gaya", "unknown", "not_understood",
                 None),
                (12, haveli, "Kaam chalu hai, par photo nahi gaya!", "unknown",
                 "not_understood", None),
                (20, wai, "zala nahi ajun", "in_progress", "not_understood", None),
                (25, wai, "Zala nahi ajun!", "in_progress", "not_understood", None),
                (30, wai, "zala nahi ajun", "unknown", "not_understood", None)):
            phrases.keep(session, person, text, read, reason, project, None,
                         NOW + dt.timedelta(minutes=minutes))
    return {"world": world, "second": second}
