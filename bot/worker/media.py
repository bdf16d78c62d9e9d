"""Fetching evidence that headmasters sent: download each pending photo or file into MEDIA_DIR.

Twilio's media URLs want the account's credentials and redirect to a CDN. Only Twilio's API and
media hosts are fetched from, and the credentials go only to the API (media_hosts.py); a URL
anywhere else is refused without a request, and the headmaster asked to send the file again.
What a file is comes from its bytes: one that is not a photo, voice note, video or PDF Kadam
keeps (flows/evidence_types.py) is not kept, and the headmaster is told so in their language. A
file larger than MEDIA_MAX_BYTES is abandoned mid-stream and the headmaster is told; a download
gets DEADLINE seconds in all, however slowly the bytes come; a fetch that keeps failing is given
up after a few tries, and the headmaster is asked to send it again.

Several workers may fetch at once. On PostgreSQL a fetch holds its evidence row locked and the
others skip it (FOR UPDATE SKIP LOCKED); on SQLite, where a transaction would block every
writer for the whole download, the row is picked in one short transaction and recorded in
another, and the record is conditional, so a rare second fetch by another process changes
nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

import urllib3
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.engine.engine import Engine
from bot.worker.media_hosts import REDIRECTS, DeadlinePassed, MediaHosts, Refused, Transfer
from flows.events import EvidenceRefusal, EvidenceRefused
from flows.evidence_types import kind_of
from storage import evidence as evidence_rows
from storage.db import Database
from storage.media_store import MediaNotAccepted, MediaStore, MediaTooLarge, StoredFile
from storage.models import Evidence

log = logging.getLogger(__name__)

# When attempt n+1 is due, counted from the evidence's arrival if every try is on time. Each
# failed try sets next_attempt_at to the next step's gap after it, so a worker that was down
# for an hour does not fire the remaining tries back to back.
RETRY_AFTER = (
    dt.timedelta(0), dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30)
)
MAX_ATTEMPTS = len(RETRY_AFTER)
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
DEADLINE = 120.0  # seconds for one file, all hops and bytes together (16 MB at ~1 Mbit/s)


@dataclass(frozen=True)
class Fetched:
    """What one download came to: a stored file, or why there is none."""

    stored: StoredFile | None = None
    too_large: bool = False
    not_accepted: str | None = None  # what the bytes were, when they are not evidence
    refused: str | None = None  # why the URL was not fetched (not Twilio's)
    error: str | None = None  # a failure worth another try


def limit_mb(max_bytes: int) -> int | float:
    """The size limit as headmasters read it: 16, not 16.0 or 16777216."""
    mb = max_bytes / (1024 * 1024)
    return int(mb) if mb == int(mb) else round(mb, 1)


class MediaFetcher:
    def __init__(self, database: Database, settings: Settings, store: MediaStore | None = None,
                 timeout: tuple[float, float] = (10.0, 30.0), deadline: float = DEADLINE,
                 hosts: MediaHosts | None = None):
        self.db = database
        self.settings = settings
        self.store = store or MediaStore(settings.media_dir)
        self.timeout = timeout  # (connect, read between chunks)
        self.deadline = deadline  # for the whole file
        self.hosts = hosts or MediaHosts(settings.twilio_api_url, settings.twilio_account_sid)
        self._lock = threading.Lock()

    # --- the queue ----------------------------------------------------------------------------

    def fetch_next(self, now: dt.datetime, tried: set[int]) -> str | None:
        """Fetches one due item not in `tried` (the ids this pass has already had a go at, so a
        failing file waits for its next turn); returns "stored", "rejected", "retry", "skipped"
        (another process had it), or None when nothing is left. Adds the item's id to `tried`."""
        if self.db.is_sqlite:
            return self._fetch_next_sqlite(now, tried)
        with self.db.transaction() as session:
            with self._lock:
                skip = list(tried)
            evidence = evidence_rows.next_to_fetch(session, now, MAX_ATTEMPTS, skip, lock=True)
            if evidence is None:
                return None
            with self._lock:
                tried.add(evidence.id)
            fetched = self.download(evidence.source_url or "")
            return self._record(session, evidence, fetched, now)

    def _fetch_next_sqlite(self, now: dt.datetime, tried: set[int]) -> str | None:
        # The lock makes picking and adding to `tried` one step for this process's threads.
        with self._lock, self.db.transaction() as session:
            evidence = evidence_rows.next_to_fetch(session, now, MAX_ATTEMPTS, list(tried))
            if evidence is None:
                return None
            tried.add(evidence.id)
            picked = (evidence.id, evidence.attempts, evidence.source_url)
        fetched = self.download(picked[2] or "")
        with self.db.transaction() as session:
            evidence = evidence_rows.find(session, picked[0])
            if evidence is None or (evidence.status, evidence.attempts) != ("pending", picked[1]):
                return "skipped"  # another process got there first
            return self._record(session, evidence, fetched, now)

    def _record(self, session: Session, evidence: Evidence, fetched: Fetched,
                now: dt.datetime) -> str:
        evidence.attempts += 1
        evidence.next_attempt_at = None  # nothing more to do, unless it is tried again below
        if fetched.stored:
            evidence.status = "stored"
            # What the bytes are, not what was declared: a PDF sent as a "photo" is a document.
            evidence.content_type = fetched.stored.content_type
            evidence.kind = kind_of(fetched.stored.content_type)
            evidence.size = fetched.stored.size
            evidence.sha256 = fetched.stored.sha256
            evidence.path = fetched.stored.path
            evidence.error = None
            return "stored"
        if fetched.too_large:
            evidence.status = "rejected"
            evidence.error = f"larger than {self.settings.media_max_bytes} bytes"
            self._refused(session, evidence, now, "too_large", 0,
                          limit_mb(self.settings.media_max_bytes))
            return "rejected"
        position = evidence_rows.task_number(session, evidence)
        if fetched.not_accepted is not None:
            evidence.status = "rejected"
            evidence.error = f"not an accepted file type ({fetched.not_accepted or 'unknown'})"
            log.warning("evidence %s: %s, not kept", evidence.id, evidence.error)
            self._refused(session, evidence, now, "not_accepted", position)
            return "rejected"
        if fetched.refused is not None:
            # Not Twilio's: no later try would fetch it, so the headmaster is asked at once.
            evidence.status = "rejected"
            evidence.error = f"not fetched: {fetched.refused}"
            log.warning("evidence %s: %s", evidence.id, evidence.error)
            self._refused(session, evidence, now, "fetch_failed", position)
            return "rejected"
        evidence.error = fetched.error
        if evidence.attempts < MAX_ATTEMPTS:
            log.warning("evidence %s: fetch failed (%s), will retry", evidence.id, fetched.error)
            n = evidence.attempts
            evidence.next_attempt_at = now + (RETRY_AFTER[n] - RETRY_AFTER[n - 1])
            return "retry"
        evidence.status = "rejected"
        self._refused(session, evidence, now, "fetch_failed", position)
        return "rejected"

    def _refused(self, session: Session, evidence: Evidence, now: dt.datetime,
                 reason: EvidenceRefusal, position: int | None, limit: int | float = 0) -> None:
        """Tells the headmaster of the evidence's project what happened to their file (their
        flow says how), as an answer to the message that carried it."""
        found = evidence_rows.headmaster_of(session, evidence)
        if found is None:
            return
        headmaster_id, project_id = found
        notice = EvidenceRefused(project_id, evidence.task_id, position or 0, reason, limit)
        Engine(self.db, self.settings).notify(session, headmaster_id, notice, now,
                                              in_reply_to=evidence.inbound_id)

    # --- the download -------------------------------------------------------------------------

    def download(self, url: str) -> Fetched:
        """GETs `url` (a MediaUrl) into the store, following Twilio's redirect by hand: each
        hop to an allowlisted host and a public address, the credentials on the first only."""
        deadline = time.monotonic() + self.deadline
        try:
            hop = self.hosts.first(url)
            for redirects in range(MAX_REDIRECTS + 1):
                headers = self._credentials() if redirects == 0 else {}
                with Transfer(hop, headers, deadline, self.timeout) as transfer:
                    if transfer.status not in REDIRECTS:
                        return self._save(transfer)
                    location = transfer.header("Location")
                if not location:
                    return Fetched(error=f"HTTP {transfer.status} without a Location")
                hop = self.hosts.redirect(hop, location)
            return Fetched(error="too many redirects")
        except Refused as exc:
            return Fetched(refused=str(exc))
        except DeadlinePassed:
            return Fetched(error=f"not downloaded within {self.deadline:g} s")
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            # ValueError: urllib3's CertificateError, a certificate for another host name.
            return Fetched(error=f"{type(exc).__name__}: {exc}")

    def _credentials(self) -> dict[str, str]:
        sid, token = self.settings.twilio_account_sid, self.settings.twilio_auth_token
        if not (sid and token):
            return {}
        return {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}

    def _save(self, transfer: Transfer) -> Fetched:
        if transfer.status != 200:
            return Fetched(error=f"HTTP {transfer.status}")
        limit = self.settings.media_max_bytes
        length = transfer.header("Content-Length")
        if limit and length.isdigit() and int(length) > limit:
            return Fetched(too_large=True)  # no need to download what we will not keep
        try:
            stored = self.store.save_stream(transfer.chunks(CHUNK), limit)
        except MediaNotAccepted as exc:
            return Fetched(not_accepted=exc.found or "")
        except MediaTooLarge:
            return Fetched(too_large=True)
        except OSError as exc:  # the network's errors come as urllib3's, not OSError
            return Fetched(error=f"cannot write {self.store.root}: {exc}")
        return Fetched(stored=stored)

    def close(self) -> None:
        """Nothing is kept open between downloads; here for the worker's shutdown."""
