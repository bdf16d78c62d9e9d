"""The photo links in officers' digests: what they open, how it is served, and when they stop.

An officer opens /evidence/<id>/<token> from a digest, maybe while signed in to the dashboard on
the same site: nothing in a file may run as Kadam, and a link stops opening after
KADAM_LINK_DAYS (30 by default).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import create_app
from bot.config import Settings
from storage import digests
from storage.digests import evidence_link
from storage.models import Evidence, Person
from tests.seed import seed_project

SAMPLES = Path(__file__).parent / "evidence_samples"
SECRET = "digest-link-secret"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


@pytest.fixture
def app(db, tmp_path):
    app = create_app({"database_url": db.url, "media_dir": tmp_path / "media",
                      "secret_key": SECRET, "twilio_account_sid": "", "twilio_auth_token": ""})
    yield app
    app.extensions["kadam.db"].dispose()


def now() -> dt.datetime:
    # The links are checked against the real clock, so they are made against it too.
    return dt.datetime.now(dt.UTC)


def stored(db, app, content: bytes, name: str, content_type: str, kind: str = "photo",
           task: int = 3) -> int:
    """An evidence file already on disk, as the worker leaves it; returns its id."""
    seeded = seed_project(db)
    path = f"ab/{name}"
    file = Path(app.config["KADAM"].media_dir) / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(content)
    with db.transaction() as session:
        evidence = Evidence(task_id=seeded.task_ids[task - 1], kind=kind, status="stored",
                            content_type=content_type, path=path, size=len(content),
                            created_at=now())
        session.add(evidence)
        session.flush()
        return evidence.id


def link(evidence_id: int, days: float = 30) -> str:
    return evidence_link("", SECRET, evidence_id, now() + dt.timedelta(days=days))


def get(client, path: str):
    """The response to GET `path`, read and closed (a file response holds the file open)."""
    with client.get(path) as response:
        response.get_data()
    return response


def assert_cannot_run_as_kadam(response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "public" not in cache


def test_a_photo_opens_in_the_browser_and_cannot_run_anything(app, db):
    jpeg = (SAMPLES / "photo.jpg").read_bytes()
    evidence_id = stored(db, app, jpeg, "wall.jpg", "image/jpeg")

    response = get(app.test_client(), link(evidence_id))

    assert response.status_code == 200 and response.data == jpeg
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Disposition"] == "inline"
    assert_cannot_run_as_kadam(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"  # the link is the key


@pytest.mark.parametrize("sample, content_type", [
    ("plan.pdf", "application/pdf"), ("voice.ogg", "audio/ogg"), ("clip.mp4", "video/mp4"),
])
def test_anything_but_a_photo_is_a_download(app, db, sample, content_type):
    content = (SAMPLES / sample).read_bytes()
    evidence_id = stored(db, app, content, sample, content_type, kind="document")

    response = get(app.test_client(), link(evidence_id))

    assert response.status_code == 200 and response.data == content
    assert response.mimetype == content_type
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert sample in response.headers["Content-Disposition"]
    assert_cannot_run_as_kadam(response)


def test_an_svg_kept_before_files_were_checked_is_only_bytes_to_download(app, db):
    """Evidence stored by an older Kadam (declared image/svg+xml, never checked) stays
    harmless: not an image, not inline, not a type a browser would render."""
    evidence_id = stored(db, app, SVG, "drawing.svg", "image/svg+xml")

    response = get(app.test_client(), link(evidence_id))

    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_cannot_run_as_kadam(response)


def test_the_dashboard_serves_evidence_the_same_way(app, db):
    from tests.admin_support import make_user, sign_in

    evidence_id = stored(db, app, SVG, "drawing.svg", "image/svg+xml")
    make_user(db, "state@example.org")
    client = app.test_client()
    assert sign_in(client, "state@example.org").status_code == 302

    response = get(client, f"/admin/evidence/{evidence_id}/photo")

    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert_cannot_run_as_kadam(response)


def test_a_link_stops_opening_when_it_expires(app, db):
    jpeg = (SAMPLES / "photo.jpg").read_bytes()
    evidence_id = stored(db, app, jpeg, "wall.jpg", "image/jpeg")
    client = app.test_client()

    assert get(client, link(evidence_id, days=0.01)).status_code == 200
    expired = get(client, link(evidence_id, days=-0.01))

    assert expired.status_code == 410
    assert "This photo link has expired" in expired.get_data(as_text=True)
    assert jpeg not in expired.data
    assert expired.headers["Cache-Control"] == "no-store"


def test_an_expiry_cannot_be_pushed_back_by_editing_the_link(app, db):
    evidence_id = stored(db, app, (SAMPLES / "photo.jpg").read_bytes(), "wall.jpg",
                         "image/jpeg")
    expired = link(evidence_id, days=-1)
    expires, mac = expired.rsplit("/", 1)[1].split("-")
    later = int(expires) + 365 * 86400

    response = get(app.test_client(), f"/evidence/{evidence_id}/{later}-{mac}")

    assert response.status_code == 404


def test_a_link_made_before_links_expired_is_refused_as_expired(app, db):
    """Digests sent by an older Kadam carried links without an expiry: they now say so."""
    import hashlib
    import hmac

    evidence_id = stored(db, app, (SAMPLES / "photo.jpg").read_bytes(), "wall.jpg",
                         "image/jpeg")
    old = hmac.new(SECRET.encode(), str(evidence_id).encode(), hashlib.sha256).hexdigest()[:20]

    response = get(app.test_client(), f"/evidence/{evidence_id}/{old}")

    assert response.status_code == 410


@pytest.mark.parametrize("path", [
    "/evidence/1/%C3%A9",
    "/evidence/1/%00",
    "/evidence/1/" + "9" * 13 + "-" + "0" * 20,
    "/evidence/1/1767225600-" + "A" * 20,
    "/evidence/1/1767225600-" + "0" * 19,
    "/evidence/1/-1767225600-" + "0" * 20,
    "/evidence/" + "9" * 30 + "/1767225600-" + "0" * 20,
    "/evidence/1/1767225600-" + "0" * 20 + "/..",
])
def test_a_malformed_link_is_not_found_never_an_error(app, db, path):
    stored(db, app, (SAMPLES / "photo.jpg").read_bytes(), "wall.jpg", "image/jpeg")
    assert get(app.test_client(), path).status_code == 404


def test_another_photo_id_with_a_valid_token_is_not_found(app, db):
    evidence_id = stored(db, app, (SAMPLES / "photo.jpg").read_bytes(), "wall.jpg",
                         "image/jpeg")
    token = link(evidence_id).rsplit("/", 1)[1]
    assert get(app.test_client(), f"/evidence/{evidence_id + 1}/{token}").status_code == 404


def test_digest_links_last_kadam_link_days(app, db, monkeypatch):
    """A digest's links open for KADAM_LINK_DAYS after the digest: a 7-day setting makes last
    week's digest still open and a digest of 8 days ago closed."""
    monkeypatch.setenv("KADAM_LINK_DAYS", "7")
    settings = Settings.from_env()
    assert settings.link_days == 7
    assert Settings().link_days == 30  # the default
    evidence_id = stored(db, app, (SAMPLES / "photo.jpg").read_bytes(), "wall.jpg",
                         "image/jpeg")
    with db.transaction() as session:
        beo = Person(phone="+919822020000", name="Prakash More", role="beo", language="mr",
                     district="Satara", block="Wai", channel="whatsapp")
        session.add(beo)
    client = app.test_client()

    def photo_link(days_ago: float) -> str:
        sent = now() - dt.timedelta(days=days_ago)
        with db.transaction() as session:
            session.get(Evidence, evidence_id).created_at = sent
            officer = session.scalars(select(Person).where(Person.role == "beo")).one()
            digest = digests.digests(session, [officer], sent, "https://kadam.example.org",
                                     SECRET, settings.link_days)[officer.id]
        (photo,) = digest["photos"]
        assert photo["url"].startswith(f"https://kadam.example.org/evidence/{evidence_id}/")
        return photo["url"].removeprefix("https://kadam.example.org")

    assert get(client, photo_link(days_ago=6.9)).status_code == 200
    assert get(client, photo_link(days_ago=7.1)).status_code == 410
