"""Evidence files on disk, named by their content (`<sha256[:2]>/<sha256>.<ext>` under MEDIA_DIR).

Naming by content makes a second copy of the same photo free and a repeated download harmless.
A file is written under a temporary name and renamed when complete, so a crash or an oversized
upload never leaves a half-written file where the dashboard would show it.
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

    def save_stream(
        self, chunks: Iterable[bytes], content_type: str, max_bytes: int | None
    ) -> StoredFile:
        """Writes `chunks` to the store, hashing as it goes; raises MediaTooLarge past
        `max_bytes` (None or 0: no limit) without keeping anything."""
        partial = self.root / ".partial"
        partial.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
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
                    digest.update(chunk)
                    out.write(chunk)
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
