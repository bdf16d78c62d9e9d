"""The languages Kadam speaks, each named in its own script (how a headmaster recognises it)."""

from __future__ import annotations

LANGUAGES: tuple[tuple[str, str], ...] = (
    ("en", "English"),
    ("hi", "हिन्दी"),
    ("mr", "मराठी"),
    ("bn", "বাংলা"),
    ("gu", "ગુજરાતી"),
    ("kn", "ಕನ್ನಡ"),
    ("ta", "தமிழ்"),
    ("te", "తెలుగు"),
    ("pa", "ਪੰਜਾਬੀ"),
    ("or", "ଓଡ଼ିଆ"),
    ("as", "অসমীয়া"),
    ("rw", "Ikinyarwanda"),
    ("sw", "Kiswahili"),
    ("fr", "Français"),
)

# Names people type for a language, in Latin letters or its own script.
ALIASES: dict[str, str] = {
    "english": "en", "angrezi": "en", "अंग्रेज़ी": "en", "अंग्रेजी": "en",
    "hindi": "hi", "हिंदी": "hi", "हिन्दी": "hi",
    "marathi": "mr", "मराठी": "mr",
    "bengali": "bn", "bangla": "bn", "বাংলা": "bn",
    "gujarati": "gu", "ગુજરાતી": "gu",
    "kannada": "kn", "ಕನ್ನಡ": "kn",
    "tamil": "ta", "தமிழ்": "ta",
    "telugu": "te", "తెలుగు": "te",
    "punjabi": "pa", "ਪੰਜਾਬੀ": "pa",
    "odia": "or", "oriya": "or", "ଓଡ଼ିଆ": "or",
    "assamese": "as", "অসমীয়া": "as",
    "kinyarwanda": "rw", "ikinyarwanda": "rw",
    "swahili": "sw", "kiswahili": "sw",
    "french": "fr", "français": "fr", "francais": "fr",
}


def named(text: str) -> str | None:
    """The language a reply names ("marathi", "मराठी"), if it names one."""
    words = text.casefold().replace(",", " ").replace(".", " ").split()
    for word in words:
        if word in ALIASES:
            return ALIASES[word]
    return None
