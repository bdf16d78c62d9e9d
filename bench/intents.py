"""How fast replies are understood: `flows.intents.parse` with the full phrase tables and a few
hundred taught phrases, beside a reference of one dictionary lookup per reply.

The replies are the test set in tests/replies/*.yaml (headmasters' replies in 14 languages),
cycled. Two figures for the parser: warm (its word caches filled, as in a process that has
been answering for a while) and cold (the caches emptied before every pass over the set, as
right after a deploy). Run: .venv/bin/python bench/intents.py [--passes N] [--taught N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import OUT, ROOT, code_version, machine  # noqa: E402
from flows import intents  # noqa: E402
from flows.intents import Name, TaughtPhrase, parse  # noqa: E402

SYLLABLES = ["ka", "ma", "zha", "la", "ti", "ru", "po", "nga", "shi", "de", "vo", "ba", "re"]


def replies() -> list[tuple[str, str]]:
    rows = []
    for path in sorted((ROOT / "tests" / "replies").glob("*.yaml")):
        rows += [(path.stem, row["text"]) for row in yaml.safe_load(path.read_text("utf-8"))]
    return rows


def taught_phrases(count: int, seed: int = 7) -> tuple[TaughtPhrase, ...]:
    """Made-up two- and three-word phrases, as a state team might teach over a year."""
    rng = random.Random(seed)
    languages = ["hi", "mr", "bn", "gu", "kn", "ta", "te", "pa", "or", "as", "rw", "sw", "fr"]
    names = [Name.DONE, Name.IN_PROGRESS, Name.HELP, Name.LATER, Name.YES, Name.NO]
    taught = set()
    while len(taught) < count:
        words = " ".join("".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))
                         for _ in range(rng.randint(2, 3)))
        taught.add(TaughtPhrase(rng.choice(languages), words, rng.choice(names)))
    return tuple(sorted(taught, key=lambda t: (t.language, t.phrase)))


def per_second(work: list[tuple[str, str]], passes: int, each, before_pass=None) -> float:
    best = 0.0
    for _ in range(passes):
        if before_pass:
            before_pass()
        start = time.perf_counter()
        for language, text in work:
            each(text, language)
        best = max(best, len(work) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--taught", type=int, default=300)
    args = parser.parse_args()

    work = replies()
    taught = taught_phrases(args.taught)
    table = {text.casefold(): Name.DONE for _language, text in work[::2]}

    def reference(text: str, language: str) -> object:
        return table.get(text.casefold(), Name.UNKNOWN)

    def understand(text: str, language: str) -> object:
        return parse(text, language, taught)

    def cold() -> None:
        intents._spellings.cache_clear()
        intents._taught_cache.clear()

    parse("warm up", "hi", taught)
    results = {
        "replies": len(work), "taught": len(taught), "passes": args.passes,
        "reference_per_s": per_second(work, args.passes, reference),
        "warm_per_s": per_second(work, args.passes, understand),
        "cold_per_s": per_second(work, args.passes, understand, cold),
        "untaught_warm_per_s": per_second(work, args.passes, lambda t, lang: parse(t, lang)),
        "machine": machine(), "code": code_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "intents.json").write_text(json.dumps(results, indent=2))
    ref = results["reference_per_s"]
    print(f"{len(work)} replies, {len(taught)} taught phrases, best of {args.passes} passes")
    for label, key in (("parse, warm", "warm_per_s"), ("parse, cold caches", "cold_per_s"),
                       ("parse, no taught phrases", "untaught_warm_per_s"),
                       ("reference: one dict lookup", "reference_per_s")):
        rate = results[key]
        print(f"| {label} | {rate:,.0f} replies/s | {rate / ref:.4f}x | "
              f"{1e6 / rate:,.1f} µs a reply |")


if __name__ == "__main__":
    main()
