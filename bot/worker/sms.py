"""What an SMS costs: its encoding (GSM-7 or UCS-2) and how many segments it takes.

GSM-7 fits 160 characters in one segment and 153 per segment when split (characters of the
extension table, such as { } [ ] ~ ^ | \\ and €, count twice). Anything else, any Indic script
for one, goes as UCS-2: 70 in one segment, 67 per segment when split, counted in UTF-16 code
units (an emoji takes two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsCost:
    encoding: str  # GSM-7 | UCS-2
    segments: int


def sms_cost(text: str) -> SmsCost:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return SmsCost("GSM-7", 1 if units <= 160 else -(-units // 153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsCost("UCS-2", 1 if units <= 70 else -(-units // 67))


# Typographic characters with a plain GSM-7 twin: swapping them can turn a UCS-2 message
# (70 characters a segment) into GSM-7 (160), which matters for French and Kinyarwanda.
PLAIN = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'",
                       "\u00a0": " ", "\u202f": " ", "–": "-", "—": "-", "…": "..."})


# A celebration's emoji alone would make an English SMS UCS-2: on SMS it goes, where that helps.
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]\uFE0F? ?")


def plain_for_sms(text: str) -> str:
    """The text with typographic quotes and spaces made plain (and emoji dropped), if that
    makes it cheaper."""
    plain = EMOJI.sub("", text.translate(PLAIN))
    return plain if sms_cost(plain).segments < sms_cost(text).segments else text
