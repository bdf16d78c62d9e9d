"""Fetching evidence that headmasters sent: download each pending photo or file into MEDIA_DIR.

Twilio's media URLs want the account's credentials and redirect to a CDN. The credentials go
only to the URL's own host, never to the host a redirect points at. A file larger than
MEDIA_MAX_BYTES is abandoned mid-stream and the headmaster is told; a fetch that keeps failing is
given up after a few tries, and the headmaster is asked to send it again.

Several workers may fetch at once. On PostgreSQL a fetch holds its evidence row locked and the
others skip it (FOR UPDATE SKIP LOCKED); on SQLite, where a transaction would block every
writer for the whole download, the row is picked in one short transaction and recorded in
another, and the record is conditional, so a rare second fetch by another process changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from storage import conversations
from storage.db import Database
from storage.media_store import MediaStore, MediaTooLarge, StoredFile
from storage.models import Evidence, Person, Project, Task

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


@dataclass(frozen=True)
class Fetched:
    """What one download came to: a stored file, or why there is none."""

    stored: StoredFile | None = None
    too_large: bool = False
    error: str | None = None


def limit_mb(max_bytes: int) -> int | float:
    """The size limit as headmasters read it: 16, not 16.0 or 16777216."""
    mb = max_bytes / (1024 * 1024)
    return int(mb) if mb == int(mb) else round(mb, 1)


class MediaFetcher:
    def __init__(self, database: Database, settings: Settings, store: MediaStore | None = None,
                 timeout: tuple[float, float] = (10.0, 30.0)):
        self.db = database
        self.settings = settings
        self.store = store or MediaStore(settings.media_dir)
        self.timeout = timeout  # (connect, read between chunks)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    # --- the queue ----------------------------------------------------------------------------

    def _due(self, now: dt.datetime) -> Select[tuple[Evidence]]:
        # A row written without a due time (older code paths) is due from its arrival.
        due_at = func.coalesce(Evidence.next_attempt_at, Evidence.created_at)
        return (
            select(Evidence)
            .where(Evidence.status == "pending", Evidence.source_url.is_not(None),
                   Evidence.attempts < MAX_ATTEMPTS, due_at <= now)
            .order_by(Evidence.id)
            .limit(1)
        )

    def fetch_next(self, now: dt.datetime, tried: set[int]) -> str | None:
        """Fetches one due item not in `tried` (the ids this pass has already had a go at, so a
        failing file waits for its next turn); returns "stored", "rejected", "retry", "skipped"
        (another process had it), or None when nothing is left. Adds the item's id to `tried`."""
        if self.db.is_sqlite:
            return self._fetch_next_sqlite(now, tried)
        with self.db.transaction() as session:
            evidence = session.scalars(
                self._pick(now, tried).with_for_update(skip_locked=True)
            ).first()
            if evidence is None:
                return None
            with self._lock:
                tried.add(evidence.id)
            fetched = self.download(evidence.source_url or "", evidence.content_type)
            return self._record(session, evidence, fetched, now)

    def _pick(self, now: dt.datetime, tried: set[int]) -> Select[tuple[Evidence]]:
        query = self._due(now)
        with self._lock:
            skip = list(tried)
        return query.where(Evidence.id.not_in(skip)) if skip else query

    def _fetch_next_sqlite(self, now: dt.datetime, tried: set[int]) -> str | None:
        # The lock makes picking and adding to `tried` one step for this process's threads.
        with self._lock, self.db.transaction() as session:
            query = self._due(now)
            if tried:
                query = query.where(Evidence.id.not_in(list(tried)))
            evidence = session.scalars(query).first()
            if evidence is None:
                return None
            tried.add(evidence.id)
            picked = (evidence.id, evidence.attempts, evidence.source_url, evidence.content_type)
        fetched = self.download(picked[2] or "", picked[3])
        with self.db.transaction() as session:
            evidence = session.get(Evidence, picked[0])
            if evidence is None or (evidence.status, evidence.attempts) != ("pending", picked[1]):
                return "skipped"  # another process got there first
            return self._record(session, evidence, fetched, now)

    def _record(self, session: Session, evidence: Evidence, fetched: Fetched,
                now: dt.datetime) -> str:
        evidence.attempts += 1
        evidence.next_attempt_at = None  # nothing more to do, unless it is tried again below
        if fetched.stored:
            evidence.status = "stored"
            evidence.content_type = fetched.stored.content_type
            evidence.size = fetched.stored.size
            evidence.sha256 = fetched.stored.sha256
            evidence.path = fetched.stored.path
            evidence.error = None
            return "stored"
        if fetched.too_large:
            evidence.status = "rejected"
            evidence.error = f"larger than {self.settings.media_max_bytes} bytes"
            self._reply(session, evidence, "evidence.too_large",
                        {"limit_mb": limit_mb(self.settings.media_max_bytes)})
            return "rejected"
        evidence.error = fetched.error
        if evidence.attempts < MAX_ATTEMPTS:
            log.warning("evidence %s: fetch failed (%s), will retry", evidence.id, fetched.error)
            n = evidence.attempts
            evidence.next_attempt_at = now + (RETRY_AFTER[n] - RETRY_AFTER[n - 1])
            return "retry"
        evidence.status = "rejected"
        position = session.scalar(select(Task.position).where(Task.id == evidence.task_id))
        self._reply(session, evidence, "evidence.fetch_failed", {"position": position})
        return "rejected"

    def _reply(self, session: Session, evidence: Evidence, key: str,
               params: dict[str, object]) -> None:
        """Tells the headmaster of the evidence's project what happened to their file."""
        found = session.execute(
            select(Person, Task.project_id)
            .join(Project, Project.headmaster_id == Person.id)
            .join(Task, Task.project_id == Project.id)
            .where(Task.id == evidence.task_id)
        ).first()
        if found is None:
            return
        person, project_id = found
        conversations.queue_message(
            session, phone=person.phone, channel=person.channel, key=key, params=params,
            person_id=person.id, in_reply_to=evidence.inbound_id, project_id=project_id,
            task_id=evidence.task_id,
        )

    # --- the download -------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

    def download(self, url: str, declared_type: str | None) -> Fetched:
        """GETs `url` into the store, following redirects by hand so that the credentials are
        sent to the first host only."""
        origin = _origin(url)
        sid, token = self.settings.twilio_account_sid, self.settings.twilio_auth_token
        credentials = (sid, token) if sid and token else None
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                response = self._http().get(
                    url, auth=credentials if _origin(url) == origin else None, stream=True,
                    allow_redirects=False, timeout=self.timeout,
                )
                if not response.is_redirect:
                    break
                url = urljoin(url, response.headers["Location"])
                response.close()
            else:
                return Fetched(error="too many redirects")
            with response:
                return self._save(response, declared_type)
        except requests.RequestException as exc:
            return Fetched(error=f"{type(exc).__name__}: {exc}")

    def _save(self, response: requests.Response, declared_type: str | None) -> Fetched:
        if response.status_code != 200:
            return Fetched(error=f"HTTP {response.status_code}")
        limit = self.settings.media_max_bytes
        length = response.headers.get("Content-Length", "")
        if limit and length.isdigit() and int(length) > limit:
            return Fetched(too_large=True)  # no need to download what we will not keep
        content_type = (response.headers.get("Content-Type") or declared_type
                        or "application/octet-stream").split(";")[0].strip()
        try:
            stored = self.store.save_stream(response.iter_content(CHUNK), content_type, limit)
        except MediaTooLarge:
            return Fetched(too_large=True)
        except OSError as exc:
            return Fetched(error=f"cannot write {self.store.root}: {exc}")
        return Fetched(stored=stored)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port
