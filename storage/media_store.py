"""Evidence files on disk, named by their content (`<sha256[:2]>/<sha256>.<ext>` under MEDIA_DIR).

Naming by content makes a second copy of the same photo free and a repeated download harmless.
A file is written under a temporary name and renamed when complete, so a crash, an oversized
upload or a file that is not on the allowlist (flows/evidence_types.py, told by its bytes) never
leaves anything where the dashboard would show it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from storage.media_types import HEAD_BYTES, accepted_by_content, identify

# What WhatsApp and SMS phones send, with the extension people expect to see in an export.
# mimetypes alone gives odd answers for some of these (".jpe" for JPEG on some systems).
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/heic": "heic",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "application/pdf": "pdf",
}


def extension_for(content_type: str | None) -> str:
    """The file extension for a MIME type ("image/jpeg; x=y" gives "jpg"); "bin" if unknown."""
    base = (content_type or "").split(";")[0].strip().lower()
    if base in EXTENSIONS:
        return EXTENSIONS[base]
    guessed = mimetypes.guess_extension(base) if base else None
    return guessed.lstrip(".") if guessed else "bin"


class MediaNotAccepted(Exception):
    """The bytes are not a type Kadam keeps; nothing was kept. `found` is what they are, if
    known ("text/html" is not known: only binary signatures are)."""

    def __init__(self, found: str | None):
        super().__init__(f"not an accepted file type ({found or 'unknown'})")
        self.found = found


class MediaTooLarge(Exception):
    """The stream went past the size limit; nothing was kept."""

    def __init__(self, limit: int):
        super().__init__(f"file is larger than {limit} bytes")
        self.limit = limit


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the store's root, with "/" separators
    sha256: str
    size: int
    content_type: str


class MediaStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def full_path(self, path: str) -> Path:
        """Where a stored file's relative `path` lives on disk."""
        return self.root / path

    def delete(self, path: str) -> bool:
        """Deletes the stored file at relative `path` (and its folder, once empty); False when
        there was no such file. A path that leads outside the store is never followed."""
        root = self.root.resolve()
        target = (root / path).resolve()
        if root not in target.parents:
            return False
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        if target.parent != root:
            try:
                target.parent.rmdir()
            except OSError:
                pass  # other files still in it
        return True

    def remove_partials(self, older_than: dt.datetime) -> int:
        """Deletes downloads a crashed worker left half-written before `older_than`."""
        removed = 0
        for part in (self.root / ".partial").glob("*.part"):
            try:
                if part.stat().st_mtime < older_than.timestamp():
                    part.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # finished or removed meanwhile
        return removed

    def save_stream(self, chunks: Iterable[bytes], max_bytes: int | None) -> StoredFile:
        """Writes `chunks` to the store, hashing as it goes, and returns the file with the type
        its bytes show. Raises MediaNotAccepted as soon as the first bytes show a type not on
        the allowlist, MediaTooLarge past `max_bytes` (None or 0: no limit); either way nothing
        is kept and the rest of the stream is not read."""
        partial = self.root / ".partial"
        partial.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        head = b""
        content_type: str | None = None
        handle, temp_name = tempfile.mkstemp(dir=partial, suffix=".part")
        temp = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if max_bytes and size > max_bytes:
                        raise MediaTooLarge(max_bytes)
                    if content_type is None:
                        head += chunk[: HEAD_BYTES - len(head)]
                        if len(head) >= HEAD_BYTES:
                            content_type = _accepted(head)
                    digest.update(chunk)
                    out.write(chunk)
                if content_type is None:
                    content_type = _accepted(head)
                out.flush()
                # The database will say "stored" once we return; the bytes must be on disk first.
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            relative = f"{sha[:2]}/{sha}.{extension_for(content_type)}"
            final = self.root / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, final)  # atomic; an identical earlier copy is simply replaced
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return StoredFile(relative, sha, size, content_type)


def _accepted(head: bytes) -> str:
    """The allowlisted type of a file that starts with `head`; raises MediaNotAccepted."""
    content_type = accepted_by_content(head)
    if content_type is None:
        raise MediaNotAccepted(identify(head))
    return content_type
