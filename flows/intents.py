"""Understanding replies the way people really type them.

`parse(text, language, taught)` turns "task 3 ho gaya sir 👍" into Intent(DONE, number=3). Every
flow uses it, so the rules live here and nowhere else. The words live in data files, one per
language (`flows/phrases/*.yaml`, read by `flows.phrasebook`); phrases the state team taught
are passed in as data (`taught`). Every table is searched whatever the person's language: a
Marathi headmaster may answer in Hindi or English.

Kadam's records are a state's monitoring, so the rule above all is: never act on a misreading.
A reply that cannot be read with confidence is not understood (the flow asks back), never
guessed into a change.

Folding, before anything is compared: Unicode compatibility forms, case, accents on Latin
letters (terminé = termine), nuktas, chandrabindu/anusvara and tippi/bindi variants, Assamese
ৰ/ৱ typed as র/ব, joiners and variation selectors, skin tones and keycaps (3️⃣ = 3), digits of
every script (३ ৩ ૩ ੩ ୩ ௩ ౩ ೩ = 3), a letter held down ("yesss"), and "didn't" = "didnt".
Punctuation separates words; "?" and "#" and each emoji are words of their own.

Matching.
1. "0" alone is UNDO; "school CODE" is SCHOOL; an add phrase at the start is ADD_TASK, the rest
   of the reply, as typed, its title.
2. Every phrase is looked for anywhere in the reply. A word matches exactly or, in Latin script
   only, with one slip of the finger that keeps its first letter: for words of four or five
   letters a swapped pair ("dnoe") or a letter typed twice ("donne"); from six letters any one
   edit ("compelted"). Shorter words, and native scripts, match exactly.
3. Small words ("sir", "ji", "hai", "abhi"), task words and numbers weigh nothing. A phrase made
   only of them counts only when nothing else was said and no number was given.
4. Where matches overlap, the heavier (then longer) phrase wins: "not done" is IN_PROGRESS,
   "no problem" is YES, "chalu kara" is START although "chalu" alone is IN_PROGRESS.
5. Among what is left: a taught phrase wins; then UNDO, then HELP ("not done, need help" is
   help: the officer must hear); greetings and "menu" give way to everything; then "start",
   "yes", "no" and "later", in that order, give way to each other and to all the rest. Then
   the heavier phrase, the exact one, the earlier one wins.
6. Negations. A done with a negation anywhere in the reply ("zale nahi", "pas fait", "didn't
   finish", "नही हुआ") or a half ("aadha", "half") is never DONE: it is IN_PROGRESS, or HELP when
   the reply also states something else (a problem: "photo nahi gaya"). A negation or a
   question about the work with words of its own ("no books", "kya karna hai?") is HELP.
7. STOP unsubscribes, so it must be deliberate: a STOP phrase, exactly, that is the whole reply
   apart from politeness ("STOP", "mujhe aur message mat bhejna", "no more messages please").
   "don't stop" and "stop the work on task 2" are not STOP; "reminders band karo" is PAUSE.
8. The person's language breaks genuine ties only: "acha" is YES in Hindi and STOP in Swahili.
   The order is their language, the languages of their region, English, then the rest.

Numbers. A number is the task's only when it stands alone ("3"), follows a task word (with the
language's connecting words: "task 3", "kazi ya 3", "umurimo wa gatatu", "task two"), comes
before one ("3 number kaam"), is an ordinal ("3rd", "teesra", "third") next to a task or status
word or alone, or stands right next to a status word ("3 done", "done 3", "3 ho gaya"). A
number followed by another word ("20 bachon", "2 teachers", "3 baje", "2 din") is a quantity,
never a task. PAUSE and LATER read a duration ("ek hafte", "2 weeks", "parso") into `days`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from flows import phrasebook


class Name(StrEnum):
    DONE = "done"
    IN_PROGRESS = "in_progress"
    HELP = "help"
    SKIP = "skip"
    YES = "yes"
    NO = "no"
    LATER = "later"
    STATUS = "status"
    TASKS = "tasks"
    MENU = "menu"
    STOP = "stop"
    START = "start"
    LANGUAGE = "language"
    ADD_TASK = "add_task"
    PAUSE = "pause"
    DETAILS = "details"
    SCHOOL = "school"
    UNDO = "undo"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Intent:
    name: Name
    number: int | None = None  # the task the reply names, never a quantity ("20 children")
    text: str = ""
    days: int | None = None  # how long, for PAUSE and LATER ("ek hafte", "2 weeks", "parso")
    code: str | None = None  # the school code, for SCHOOL


@dataclass(frozen=True)
class TaughtPhrase:
    """A phrase the state team taught Kadam ("in Marathi, 'kam zala nahi' means in progress")."""

    language: str
    phrase: str
    intent: Name


# --- the words ----------------------------------------------------------------------------------
# Name.UNKNOWN: phrases that mean none of the intents and hide the words inside them ("not
# sure", "non-stop"). Name.ADD_TASK: phrases that open "add my own task: ...".

_TABLES = phrasebook.shipped()
LEXICON: dict[str, dict[Name, tuple[str, ...]]] = {
    language: {Name(name): tuple(phrases) for name, phrases in table["intents"].items()}
    for language, table in _TABLES.items()
}

# Neighbours, for breaking ties: a word's meaning in the person's own region comes first.
REGIONS = (("hi", "mr", "bn", "gu", "kn", "ta", "te", "pa", "or", "as"), ("rw", "sw", "fr"))

# Longest a pause or a postponement may be, whatever is typed ("pause 900 days").
MAX_DAYS = 90


# --- folding and words --------------------------------------------------------------------------

_DROP = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u20e3"  # joiners, variation selectors, keycap
    "\u093c\u09bc\u0a3c\u0abc\u0b3c\u0c3c\u0cbc"  # nuktas: ड़ = ड, as people often type it
    # Nasal signs in the north Indian scripts, so often left out on phones ("नही", "थयु",
    # "ਨਹੀ") that a word is read the same with or without them.
    "\u0901\u0902\u0981\u0982\u0a01\u0a02\u0a70\u0a81\u0a82\u0b01\u0b02"
)
_SAME = str.maketrans({
    "\u0c01": "\u0c02", "\u0c81": "\u0c82",
    "\u09f0": "\u09b0", "\u09f1": "\u09ac",  # Assamese ৰ ৱ typed on a Bengali keyboard
})
_HELD = re.compile(r"([^\W\d])\1{2,}")  # a letter held down: "yesss"
_DIGITS_APART = re.compile(r"\d+|\D+")
_CONTRACTED = frozenset({"didn", "don", "doesn", "can", "couldn", "won", "wouldn", "haven",
                         "hasn", "hadn", "isn", "wasn", "aren", "weren", "shouldn"})


def _fold(text: str) -> str:
    """Compatibility forms, case, Latin accents, nuktas, nasal signs, and digits of any script."""
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text).casefold())
    out: list[str] = []
    latin = False
    for ch in text.translate(_SAME):
        if ch in _DROP or (latin and unicodedata.combining(ch)):
            continue
        if ch.isdigit():
            ch = str(unicodedata.digit(ch, 0))
        elif "\U0001f3fb" <= ch <= "\U0001f3ff":  # skin tones
            continue
        if not unicodedata.combining(ch):
            latin = ch.isascii() and ch.isalpha()
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _tokens(text: str) -> list[str]:
    """The words of a text, folded: punctuation separates; "?", "#" and emoji stand alone."""
    words: list[str] = []
    current: list[str] = []

    def end_word() -> None:
        if current:
            word = _HELD.sub(r"\1", "".join(current))
            words.extend(_DIGITS_APART.findall(word))  # "task3" is "task 3"
            current.clear()

    for ch in _fold(text):
        category = unicodedata.category(ch)
        if ch in "?#" or category == "So":
            end_word()
            words.append(ch)
        elif ch.isspace() or category[0] in "PSZC":
            end_word()
        else:
            current.append(ch)
    end_word()
    # "didn't" is one word, "didnt", as people also type it
    joined: list[str] = []
    for word in words:
        if word == "t" and joined and joined[-1] in _CONTRACTED:
            joined[-1] += "t"
        else:
            joined.append(word)
    return joined


def normalise(text: str) -> str:
    """A reply as the parser sees it (folded words), so the same reply typed differently groups
    together on the "Replies not understood" page and a taught phrase matches as typed."""
    return " ".join(_tokens(text or ""))


# --- typos ---------------------------------------------------------------------------------------


def _latin(word: str) -> bool:
    return word.isascii() and word.isalpha()


def _typo(word: str, keyword: str) -> bool:
    """One slip of the finger (rule 2): never for short words or outside Latin script."""
    n = len(keyword)
    if n < 4 or word[0] != keyword[0] or not (_latin(word) and _latin(keyword)):
        return False
    if len(word) == n:
        diffs = [i for i in range(n) if word[i] != keyword[i]]
        if len(diffs) == 2 and diffs[1] == diffs[0] + 1:
            i = diffs[0]
            return word[i] == keyword[i + 1] and word[i + 1] == keyword[i]  # swapped pair
        return len(diffs) == 1 and n >= 6
    if abs(len(word) - n) != 1:
        return False
    short, long = (word, keyword) if len(word) < n else (keyword, word)
    for i in range(len(long)):
        if long[:i] + long[i + 1 :] == short:
            if n >= 6:
                return True
            # under six letters only a letter typed twice ("donne"), none missing or changed
            doubled = long[i] in long[max(i - 1, 0) : i] + long[i + 1 : i + 2]
            if len(word) > n and doubled:
                return True
    return False


# --- the frame words, folded, from every language's file ----------------------------------------


def _words(kind: str) -> frozenset[str]:
    """One kind of frame word, folded; each is one word (`kadam i18n check` says so)."""
    return frozenset(folded[0] for table in _TABLES.values()
                     for word in table["words"].get(kind, ())
                     if len(folded := _tokens(word)) == 1)


def _numbers(kind: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in _TABLES.values():
        for word, value in table["words"].get(kind, {}).items():
            folded = _tokens(word)
            if len(folded) == 1:
                out.setdefault(folded[0], value)
    return out


def _phrases_of(kind: str) -> dict[tuple[str, ...], int]:
    return {tuple(_tokens(word)): days for table in _TABLES.values()
            for word, days in table["words"].get(kind, {}).items()}


_TASK_WORDS = _words("task") | _words("plural_task")
_PLURAL_TASK = _words("plural_task")
_LINKS = _words("link") | _words("number")
_NUMBER_WORDS = _words("number")  # "no 3", "#3": a number follows
_FILLER = _words("filler")
_STOP_COMPANIONS = _words("stop_companion")
_NEGATION = _words("negation")
_NEGATION_BEFORE = _words("negation_before")
_NEGATION_AFTER = _words("negation_after")
_NEGATION_PREFIX = tuple(sorted(_words("negation_prefix")))
_NEGATION_SUFFIX = tuple(sorted(_words("negation_suffix")))
_PARTIAL = _words("partial")
_QUESTION = _words("question")
_SCHOOL = _words("school")
_REMINDER = _words("reminder")
_CARDINALS = _numbers("numbers")
_ORDINALS = _numbers("ordinals")
_ORDINAL_SUFFIX = _words("ordinal_suffix")
_UNITS = {**dict.fromkeys(_words("day"), 1), **dict.fromkeys(_words("week"), 7),
          **dict.fromkeys(_words("month"), 30)}
_DURATIONS = _phrases_of("durations")
_DURATIONS_BY_FIRST: dict[str, list[tuple[tuple[str, ...], int]]] = {}
for _phrase, _count in sorted(_DURATIONS.items(), key=lambda item: (-len(item[0]), item[0])):
    if _phrase:
        _DURATIONS_BY_FIRST.setdefault(_phrase[0], []).append((_phrase, _count))
# Words that frame a reply and say nothing of their own (a problem needs words of its own).
_FRAME = (_FILLER | _TASK_WORDS | _LINKS | _NEGATION | _NEGATION_BEFORE | _NEGATION_AFTER
          | _PARTIAL | _QUESTION | _ORDINAL_SUFFIX | set(_CARDINALS) | set(_ORDINALS)
          | set(_UNITS) | {"?", "#"})
_CODE = re.compile(r"^[\w-]*\d[\w-]*$")


def _negates(token: str) -> bool:
    """A word that negates wherever it stands (or by its beginning or ending)."""
    if token in _NEGATION:
        return True
    if len(token) > 4 and not token.isdigit():
        return token.startswith(_NEGATION_PREFIX) or token.endswith(_NEGATION_SUFFIX)
    return False


# --- the phrase index --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    meanings: tuple[tuple[str, Name], ...]  # (language, intent), as many as languages say it
    taught: bool = False


@dataclass(frozen=True)
class _Index:
    by_first: dict[str, list[_Phrase]]
    adds: dict[str, list[tuple[str, ...]]]  # add phrases by their first word, longest first


def _index(entries: Iterable[tuple[str, Name, str]], taught: bool = False) -> _Index:
    """Phrases by their first word; add phrases apart, longest first."""
    meanings: dict[tuple[str, ...], dict[str, Name]] = {}
    adds: set[tuple[str, ...]] = set()
    for language, name, phrase in entries:
        words = tuple(_tokens(phrase))
        if not words:
            continue
        if name == Name.ADD_TASK:
            adds.add(words)
        else:
            meanings.setdefault(words, {}).setdefault(language, name)
    by_first: dict[str, list[_Phrase]] = {}
    for words, by_language in meanings.items():
        by_first.setdefault(words[0], []).append(
            _Phrase(words, tuple(by_language.items()), taught))
    adds_by_first: dict[str, list[tuple[str, ...]]] = {}
    for words in sorted(adds, key=lambda words: (-len(words), words)):
        adds_by_first.setdefault(words[0], []).append(words)
    return _Index(by_first, adds_by_first)


_SHIPPED = _index((language, name, phrase) for language, table in LEXICON.items()
                  for name, phrases in table.items() for phrase in phrases)
_KEYWORDS = frozenset(word for phrases in _SHIPPED.by_first.values() for p in phrases
                      for word in p.words)


# The last set of taught phrases and its index. The storage layer hands every step the same
# tuple until a phrase is taught or removed, so the index is found by identity: hashing a few
# hundred phrases on every reply would cost more than reading the reply.
_taught_cache: list[tuple[tuple[TaughtPhrase, ...], _Index]] = []


def _taught_index(taught: tuple[TaughtPhrase, ...]) -> _Index:
    """The taught phrases' own index; a process builds it once per set of taught phrases."""
    for known, index in _taught_cache:
        if known is taught:
            return index
    index = _index(((t.language, t.intent, t.phrase) for t in taught), taught=True)
    _taught_cache[:] = [(taught, index)]
    return index




def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


# Words that only ever appear in "means nothing" phrases ("competed") block their exact
# selves, but a typo is never read as one of them: "compelted" is "completed".
_MEANINGFUL = frozenset(word for phrases in _SHIPPED.by_first.values() for p in phrases
                        if any(name != Name.UNKNOWN for _, name in p.meanings)
                        for word in p.words)
_NEAR: dict[str, set[str]] = {}
for _keyword in _KEYWORDS & _MEANINGFUL:
    if len(_keyword) >= 4 and _latin(_keyword):
        for _variant in _deletions(_keyword):
            _NEAR.setdefault(_variant, set()).add(_keyword)


_VOWELS = str.maketrans("", "", "aeiou")


def _skeleton(word: str) -> str:
    return word[0] + word[1:].translate(_VOWELS)


# Phone spellings that leave vowels out ("nhi", "thyu", "hgya", "mdd"): keyed by consonants.
_SKELETONS: dict[str, set[str]] = {}
for _keyword in _KEYWORDS & _MEANINGFUL:
    if len(_keyword) >= 4 and _latin(_keyword):
        _SKELETONS.setdefault(_skeleton(_keyword), set()).add(_keyword)


def _vowels_left_out(token: str, keyword: str) -> bool:
    """The token is the keyword with one to three of its vowels left out, the first kept."""
    if not 0 < len(keyword) - len(token) <= 3 or token[0] != keyword[0]:
        return False
    rest = iter(keyword)
    return all(ch in rest for ch in token)  # a subsequence


@lru_cache(maxsize=8192)
def _spellings(token: str) -> dict[str, int]:
    """The table's words this token may be, with the edits it takes (0 or 1)."""
    found = {token: 0} if token in _KEYWORDS else {}
    if token in _FILLER or token in _FRAME or not _latin(token) or len(token) < 3:
        return found
    # Sorted, so the same reply is read the same way in every process (sets iterate in an
    # order that changes with Python's hash seed).
    for variant in sorted(_deletions(token)):
        for keyword in sorted(_NEAR.get(variant, ())):
            if keyword not in found and _typo(token, keyword):
                found[keyword] = 1
    for keyword in sorted(_SKELETONS.get(_skeleton(token), ())):
        if keyword not in found and _vowels_left_out(token, keyword):
            found[keyword] = 1
    return found


@lru_cache(maxsize=64)
def _preference(language: str) -> tuple[str, ...]:
    """Whose meaning counts first when languages disagree (rule 8)."""
    own = (language or "en").split("-")[0].split("_")[0].casefold()
    region = next((r for r in REGIONS if own in r), ())
    ordered = [own, *region, "en", *LEXICON]
    return tuple(dict.fromkeys(ordered))


# --- matching ----------------------------------------------------------------------------------

# How strongly an intent holds its ground against others in the same reply (rule 5).
_TIER = {Name.MENU: 0, Name.START: 1, Name.YES: 2, Name.NO: 3, Name.LATER: 4, Name.HELP: 6,
         Name.UNDO: 7}  # the others: 5
_STATUS = frozenset({Name.DONE, Name.IN_PROGRESS, Name.HELP, Name.SKIP})
_WEAK = frozenset({Name.MENU, Name.YES, Name.NO, Name.UNKNOWN})


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    weight: int  # words that carry meaning
    edits: int
    name: Name
    rank: int  # position of the meaning's language in the person's preference
    taught: bool = False

    def overlaps(self, other: _Match) -> bool:
        return self.start < other.end and other.start < self.end


def _quiet(token: str) -> bool:
    return token in _FILLER or token in _TASK_WORDS or token.isdigit()


def _weights(tokens: list[str]) -> list[int]:
    """1 for a word that carries meaning, 0 for politeness, task words and numbering."""
    weights = []
    for i, token in enumerate(tokens):
        numbering = token in _NUMBER_WORDS and i + 1 < len(tokens) and tokens[i + 1].isdigit()
        weights.append(0 if _quiet(token) or numbering else 1)
    return weights


def _matches(tokens: list[str], weights: list[int], language: str,
             index: _Index) -> list[_Match]:
    """Every phrase of an index found in the reply, each with the meaning the person gives it."""
    preference = _preference(language)
    found: list[_Match] = []
    for start, token in enumerate(tokens):
        spellings = {token: 0} if index is not _SHIPPED else _spellings(token)
        for first, edits in spellings.items():
            for phrase in index.by_first.get(first, ()):
                end = start + len(phrase.words)
                if end > len(tokens):
                    continue
                total = edits
                for word, typed in zip(phrase.words[1:], tokens[start + 1 : end], strict=True):
                    more = 0 if word == typed else (
                        None if phrase.taught else _spellings(typed).get(word))
                    if more is None:
                        break
                    total += more
                else:
                    rank, name = min((preference.index(lang) if lang in preference else 99,
                                      meaning) for lang, meaning in phrase.meanings)
                    weight = sum(weights[start:end]) or (1 if phrase.taught else 0)
                    found.append(_Match(start, end, weight, total, name, rank, phrase.taught))
    return found


def _deliberate_stop(match: _Match, tokens: list[str]) -> bool:
    """Rule 7: exact, and nothing else said but politeness, emoji and "messages"; or a request
    that names the messages or the number itself ("please stop sending me these messages, I
    have retired"), with no negation before it ("don't stop sending messages")."""
    if match.edits:
        return False
    rest = tokens[: match.start] + tokens[match.end :]
    if all(t in _FILLER or t in _STOP_COMPANIONS or t == "?"
           or unicodedata.category(t[0]) == "So" for t in rest):
        return True
    names_what = any(t in _STOP_COMPANIONS and t not in _FILLER
                     for t in tokens[match.start : match.end])
    return names_what and match.weight >= 2 and not any(
        _negates(t) or t in _NEGATION_BEFORE for t in tokens[: match.start])


def _kept(found: list[_Match]) -> list[_Match]:
    """Rule 4: a taught, then the heavier, then the longer phrase keeps its words."""
    found = sorted(found, key=lambda m: (not m.taught, -m.weight, -(m.end - m.start), m.edits,
                                         m.start, m.rank))
    kept: list[_Match] = []
    for match in found:
        if not any(match.overlaps(k) for k in kept):
            kept.append(match)
    return kept


def _choose(tokens: list[str], weights: list[int], found: list[_Match],
            number: int | None) -> Name | None:
    if any(weights):
        found = [m for m in found if m.weight]
    elif number is not None:
        return None  # "task 3", "no 3": the number is the whole answer
    kept = _kept(found)
    # A stop typed exactly counts even where a longer, misspelt stop phrase covers it.
    stops = any(m.name == Name.STOP and _deliberate_stop(m, tokens) for m in found)
    candidates = [m for m in kept if m.name != Name.UNKNOWN and (m.name != Name.STOP or stops)]
    taught = [m for m in candidates if m.taught]
    if taught:
        best: _Match | None = min(taught, key=lambda m: (-m.weight, m.start))
    else:
        best = min(candidates, default=None, key=lambda m: (
            -_TIER.get(m.name, 5), -m.weight, m.edits, m.start, m.rank))
    if (best is None or best.name not in _STATUS) and _asks_pause(tokens, found):
        return Name.PAUSE
    return _weigh_negations(tokens, weights, found, kept, best)


def _asks_pause(tokens: list[str], found: list[_Match]) -> bool:
    """ "reminders band karo", "2 hafte message mat bhejo", "no reminders for 10 days": no more
    messages for a while is a pause, not an unsubscribe."""
    stops = any(m.name == Name.STOP for m in found)
    refuses = stops or any(m.name == Name.NO for m in found) or any(map(_negates, tokens))
    reminders = any(t in _REMINDER for t in tokens)
    return (reminders and refuses) or (stops and _days(tokens, counted=True) is not None)


def _weigh_negations(tokens: list[str], weights: list[int], found: list[_Match],
                     kept: list[_Match], best: _Match | None) -> Name | None:
    """Rule 6: a negated or half done is never done; a stated problem or question is help."""
    name = best.name if best else None
    if best is not None and best.taught and name != Name.DONE:
        return name
    if name == Name.DONE and any(m.name == Name.IN_PROGRESS for m in kept):
        name = Name.IN_PROGRESS  # done and not done in one reply: not done
    # Words inside a phrase that means something else ("no problem", "not sure", "nahi hua")
    # are that phrase's; a "no" alone, or one beside a done, negates.
    covered = {i for m in kept if m.name not in (Name.NO, Name.DONE)
               for i in range(m.start, m.end)}
    # A done beside a status of its own negation ("nimemaliza bado", "done, not done") is
    # not done either: only a phrase of another meaning ("no problem") keeps its negation.
    beside = {i for m in kept if m.name not in (Name.NO, *_STATUS)
              for i in range(m.start, m.end)}
    in_any = {i for m in kept for i in range(m.start, m.end)}
    done_starts = {m.start for m in found if m.name == Name.DONE}
    done_ends = {m.end for m in found if m.name == Name.DONE}
    negated = contradicted = half = asked = stated = False
    for i, token in enumerate(tokens):
        negates = _negates(token) or (token in _NEGATION_BEFORE and i + 1 in done_starts) or (
            token in _NEGATION_AFTER and i in done_ends)
        contradicted = contradicted or (negates and i not in beside)
        if i in covered:
            continue
        negated = negated or negates
        half = half or token in _PARTIAL
        asked = asked or token in _QUESTION or token == "?"
        stated = stated or (i not in in_any and weights[i] == 1 and token not in _FRAME
                            and unicodedata.category(token[0]) != "So")
    if name == Name.DONE and (contradicted or half):
        return Name.HELP if negated and stated else Name.IN_PROGRESS
    if name == Name.IN_PROGRESS and negated and stated:
        return Name.HELP  # "chal raha hai, par kitabein nahi hain"
    if (name is None or name in _WEAK) and stated and (negated or asked):
        return Name.HELP  # "photo nahi ja rahi", "no books", "kya karna hai?"
    alone = [m for m in kept if m.name != Name.UNKNOWN] == [best]
    if name == Name.YES and stated and alone and best is not None \
            and best.end - best.start == 1 and len(tokens[best.start]) <= 2:
        return None  # "ho", "ha" inside a sentence about something else are not a yes
    return name


def _value(token: str) -> tuple[int | None, bool]:
    """The number a word is, and whether it is an ordinal ("teesra")."""
    if token.isdigit():
        return int(token), False
    if token in _ORDINALS:
        return _ORDINALS[token], True
    if token in _CARDINALS:
        return _CARDINALS[token], False
    return None, False


def _next(tokens: list[str], i: int, skip: frozenset[str]) -> int:
    while i < len(tokens) and tokens[i] in skip:
        i += 1
    return i


def _number(tokens: list[str], found: list[_Match]) -> int | None:
    """The task the reply names (see "Numbers" above); quantities are passed over."""
    starts = {m.start for m in found if m.name in _STATUS}
    ends = {m.end for m in found if m.name in _STATUS}
    for i, token in enumerate(tokens):
        value, ordinal = _value(token)
        if value is None or value > 999 or (value == 0 and not ordinal):
            continue
        digit = token.isdigit()
        end = i + 1
        if digit and end < len(tokens) and tokens[end] in _ORDINAL_SUFFIX:
            ordinal, end = True, end + 1  # "3rd", "3रा"
        # after a task word, with the language's connecting words: "task 3", "kazi ya 3"
        before = i - 1
        while before >= 0 and tokens[before] in _LINKS and tokens[before] not in _TASK_WORDS:
            before -= 1
        if before >= 0 and tokens[before] in _TASK_WORDS and tokens[before] not in _PLURAL_TASK:
            return value
        if digit and i and tokens[i - 1] in _NUMBER_WORDS:
            return value  # "no 3", "#3"
        # before a task word: "3 number kaam", "teesra kaam" (a bare "do kaam" is "give work")
        after = _next(tokens, end, _FILLER)
        linked = _next(tokens, after, _LINKS - _TASK_WORDS)
        if (linked < len(tokens) and tokens[linked] in _TASK_WORDS
                and tokens[linked] not in _PLURAL_TASK and (digit or ordinal or linked > after)):
            return value
        if not (digit or ordinal):
            continue  # a number written as a word counts only beside a task word
        if after < len(tokens) and after not in starts and tokens[after] != "?" \
                and unicodedata.category(tokens[after][0]) != "So":
            continue  # a quantity: "20 bachon", "2 teachers", "3 baje", "2 din"
        previous = i - 1
        while previous >= 0 and tokens[previous] in _FILLER:
            previous -= 1
        rest = tokens[:i] + tokens[end:]
        alone = all(_quiet(t) or t in _NUMBER_WORDS or t == "?"
                    or unicodedata.category(t[0]) == "So" for t in rest)
        if alone or after in starts or previous + 1 in ends:
            return value
    return None


def _days(tokens: list[str], counted: bool = False) -> int | None:
    """How long a pause or a postponement is: "2 weeks", "ek hafte", "parso", "10 din".
    `counted`: only a number with its unit, or a phrase ("agle hafte"), not a lone unit."""
    for i, token in enumerate(tokens):
        if token in _UNITS:
            # "2 weeks", "ek hafte"; and after the unit where the language puts it there:
            # "wiki 2", "iminsi 10", "ukwezi kumwe"
            for near in (i - 1, i + 1):
                count, ordinal = _value(tokens[near]) if 0 <= near < len(tokens) else (None, 0)
                if count is not None and not ordinal:
                    return min(count * _UNITS[token], MAX_DAYS)
    for i, token in enumerate(tokens):
        for phrase, days in _DURATIONS_BY_FIRST.get(token, ()):
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                return min(days, MAX_DAYS)
    for token in tokens:
        if token in _UNITS and not counted:
            return _UNITS[token]  # "hafte bhar"
    return None


def _school_code(raw: str, tokens: list[str], lead: int) -> str | None:
    """The code in "school 27310100101" (officers ask about one school)."""
    if lead >= len(tokens) or tokens[lead] not in _SCHOOL:
        return None
    words = [w.strip(":#.,-") for w in raw.split()]
    words = [w for w in words if w and _tokens(w) and not set(_tokens(w)) <= _FILLER]
    if len(words) != 2 or _tokens(words[0])[0] not in _SCHOOL or not _CODE.match(words[1]):
        return None
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in words[1])


def parse(text: str, language: str = "en", taught: tuple[TaughtPhrase, ...] = ()) -> Intent:
    """Understand one reply. `language` is the person's; replies in other languages work too.
    `taught`: the phrases the state team taught, which win over the shipped tables."""
    raw = (text or "").strip()
    tokens = _tokens(raw)
    if not tokens:
        return Intent(Name.UNKNOWN)
    lead = _next(tokens, 0, _FILLER)
    if [t for t in tokens if t not in _FILLER] == ["0"]:
        return Intent(Name.UNDO, text=raw)
    code = _school_code(raw, tokens, lead)
    if code is not None:
        return Intent(Name.SCHOOL, text=raw, code=code)
    indexes = (_taught_index(taught), _SHIPPED) if taught else (_SHIPPED,)
    for index in indexes:
        for phrase in index.adds.get(tokens[lead], ()) if lead < len(tokens) else ():
            # Exact only: a typo-tolerant "जोड़ो" (add) would swallow "छोड़ो" (skip).
            if tuple(tokens[lead : lead + len(phrase)]) == phrase:
                return Intent(Name.ADD_TASK, text=_after(raw, tokens, lead + len(phrase)))
    weights = _weights(tokens)
    found = [m for index in indexes for m in _matches(tokens, weights, language, index)]
    number = _number(tokens, found)
    name = _choose(tokens, weights, found, number) or Name.UNKNOWN
    days = _days(tokens) if name in (Name.PAUSE, Name.LATER) else None
    return Intent(name, number=number, text=raw, days=days)


def _after(raw: str, tokens: list[str], count: int) -> str:
    """The reply after its first `count` words, as the headmaster typed it."""
    head = tokens[:count]
    cut = None
    for i in range(1, len(raw) + 1):
        prefix = _tokens(raw[:i])
        if len(prefix) > count or (cut is not None and prefix != head):
            break
        if prefix == head and prefix + _tokens(raw[i:]) == tokens:
            cut = i  # the longest such cut: signs folded away stay with the head ("जोड़ें")
    return "" if cut is None else raw[cut:].strip().lstrip(":-–—,.;/ ").strip()
