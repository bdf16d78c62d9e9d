"""What a file is, from its first bytes (the `filetype` library's signatures), never from the
type a sender declared: an HTML page declared image/jpeg is an HTML page.

filetype is small, pure Python and widely used, and it tells HEIC, AMR, M4A and Opus voice notes
apart. Two signatures of its 1.2.0 are put right here and checked first: 3GP (it looks at the
wrong offset, fixed upstream but not released, so a 3GP video passed as MP4) and HEIC (it knows
only the "heic" brand, not the "heix" of 10-bit photos some Android phones take).
"""

from __future__ import annotations

import filetype
from filetype.types.isobmff import IsoBmff

from flows.evidence_types import accepted_type

# filetype reads at most this many bytes from the start of a file.
HEAD_BYTES = 8192


class ThreeGpp(IsoBmff):
    """3GPP/3GPP2 video (and audio-only .3gp): an ISO media file whose major brand is 3gp or 3g2,
    as basic phones record."""

    MIME = "video/3gpp"
    EXTENSION = "3gp"

    def __init__(self) -> None:
        super().__init__(mime=self.MIME, extension=self.EXTENSION)

    def match(self, buf: bytes) -> bool:
        if not self._is_isobmff(buf):
            return False
        major_brand, _minor, _compatible = self._get_ftyp(buf)
        return bool(major_brand.startswith(("3gp", "3g2")))


class Heic(IsoBmff):
    """A HEIF photo coded in HEVC, whichever of its brands the phone wrote."""

    MIME = "image/heic"
    EXTENSION = "heic"
    BRANDS = ("heic", "heix", "heim", "heis")

    def __init__(self) -> None:
        super().__init__(mime=self.MIME, extension=self.EXTENSION)

    def match(self, buf: bytes) -> bool:
        if not self._is_isobmff(buf):
            return False
        major_brand, _minor, compatible = self._get_ftyp(buf)
        if major_brand in self.BRANDS:
            return True
        return major_brand in ("mif1", "msf1") and any(b in self.BRANDS for b in compatible)


MATCHERS = [ThreeGpp(), Heic(), *filetype.types]


def identify(head: bytes) -> str | None:
    """The MIME type the bytes of a file's start show, allowlisted or not, or None if they
    match no known signature (text, an SVG, an HTML page, noise)."""
    found = filetype.match(bytes(head[:HEAD_BYTES]), matchers=MATCHERS)
    return str(found.mime) if found is not None else None


def accepted_by_content(head: bytes) -> str | None:
    """The allowlisted type (flows/evidence_types.py) these bytes are, or None."""
    return accepted_type(identify(head))
