"""Translation fidelity per installed engine on the corpus in bench/fidelity/ (issue 13).

For every engine on this machine (Apertium en->es; argos with a random-weight model built
here, since no real model may be downloaded) it prints:

- spans byte-exact:       must-survive items found in the target as often as in the source
- lost-and-flagged:       items lost in a segment marked needs-review / failed
- lost-and-unflagged:     items lost in a segment marked translated (must be 0)
- glossary honoured:      term occurrences whose target term is in the output
- agreement errors:       determiner before / adjective or participle after an inserted term
                          that does not agree with its gender and number
- cross-field bleed:      items of one field found in another field's output (must be 0)
- throughput:             Rogatory's isolated path vs the raw engine on the same text

Run: .venv/bin/python bench/bench_fidelity.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.translation.agreement import fix_agreement
from gateway.translation.glossary import Glossary, GlossaryEntry
from gateway.translation.model_packages import install_package
from gateway.translation.request_translation import translate_segments
from gateway.translation.spans import SpanProtector

CORPUS = Path(__file__).resolve().parent / "fidelity" / "corpus.json"
NOW = datetime.now(UTC)


@dataclass
class Tally:
    items: int = 0
    exact: int = 0
    lost_flagged: int = 0
    lost_unflagged: int = 0
    bleed: int = 0
    segments: int = 0
    flagged_segments: int = 0
    term_occurrences: int = 0
    terms_honoured: int = 0
    agreement_errors: int = 0
    examples: list[str] = field(default_factory=list)


def _count(text: str | None, item: str) -> int:
    if not text:
        return 0
    return len(re.findall(rf"(?<!\w){re.escape(item)}(?!\w)", text))


def fidelity(engine: Any, corpus: dict[str, Any], tally: Tally) -> None:
    for request in corpus["requests"]:
        fields = request["fields"]
        results = translate_segments(
            [(f["path"], f["text"]) for f in fields],
            engine,
            protector=SpanProtector(),
            source="en",
            target="es",
            now=NOW,
        )
        for spec, result in zip(fields, results, strict=True):
            tally.segments += 1
            flagged = result.status in ("needs-review", "failed")
            tally.flagged_segments += flagged
            for item in dict.fromkeys(spec["must_survive"]):
                tally.items += 1
                if _count(result.target, item) >= _count(spec["text"], item):
                    tally.exact += 1
                elif flagged:
                    tally.lost_flagged += 1
                else:
                    tally.lost_unflagged += 1
                    if len(tally.examples) < 5:
                        tally.examples.append(f"{item!r} in {result.target!r}")
            for other, other_result in zip(fields, results, strict=True):
                if other is spec or other_result.target is None:
                    continue
                for item in set(spec["must_survive"]) - set(other["must_survive"]):
                    if item not in other["text"] and item in other_result.target:
                        tally.bleed += 1


def glossary_check(engine: Any, corpus: dict[str, Any], tally: Tally) -> None:
    entries = tuple(
        GlossaryEntry(g["source"], g["target"], g["gender"], g["number"])
        for g in corpus["glossary"]
    )
    glossary = Glossary("a", "b", "en", "es", entries)
    targets = {e.source: e for e in entries}
    items = [(f"g[{i}]", s["text"]) for i, s in enumerate(corpus["glossary_set"])]
    results = translate_segments(
        items,
        engine,
        protector=SpanProtector(glossary=glossary.terms()),
        source="en",
        target="es",
        now=NOW,
        grammar=glossary.grammar(),
    )
    for spec, result in zip(corpus["glossary_set"], results, strict=True):
        for term in spec["terms"]:
            entry = targets[term]
            tally.term_occurrences += 1
            target = result.target or ""
            position = target.find(entry.target)
            if position < 0:
                continue
            tally.terms_honoured += 1
            # the determiner before, an adjective or passive participle after the term
            probe = target[:position] + "[[1]]" + target[position + len(entry.target) :]
            _, errors = fix_agreement(probe, {0: (entry.gender, entry.number)}, "es")
            tally.agreement_errors += errors
            if errors and len(tally.examples) < 8:
                tally.examples.append(f"agreement: {target!r}")


def interleaved_best(actions: list[Callable[[], object]], repeats: int) -> list[float]:
    best = [float("inf")] * len(actions)
    for _ in range(repeats):
        for index, action in enumerate(actions):
            start = time.perf_counter()
            action()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def report(name: str, tally: Tally) -> None:
    pct = 100.0 * tally.exact / max(1, tally.items)
    honoured = 100.0 * tally.terms_honoured / max(1, tally.term_occurrences)
    print(f"== {name}")
    print(f"  segments                 {tally.segments} ({tally.flagged_segments} flagged)")
    print(f"  spans byte-exact         {tally.exact}/{tally.items} ({pct:.1f}%)")
    print(f"  lost-and-flagged         {tally.lost_flagged}")
    print(f"  lost-and-unflagged       {tally.lost_unflagged}   (must be 0)")
    print(
        f"  glossary honoured        {tally.terms_honoured}/{tally.term_occurrences} "
        f"({honoured:.1f}%)"
    )
    print(f"  agreement errors         {tally.agreement_errors}")
    print(f"  cross-field bleed        {tally.bleed}   (must be 0)")
    for example in tally.examples:
        print(f"    e.g. {example}")


def bench_apertium(corpus: dict[str, Any], repeats: int) -> bool:
    from workers.translation.apertium_engine import ApertiumEngine

    engine = ApertiumEngine()
    if ("en", "es") not in engine.pairs():
        print("== apertium: no en->es pair installed, skipped")
        return True
    tally = Tally()
    fidelity(engine, corpus, tally)
    glossary_check(engine, corpus, tally)
    report("apertium en->es", tally)
    texts = [f["text"] for r in corpus["requests"] for f in r["fields"]]
    joined = ("\n".join(texts) + "\n").encode()

    def raw() -> None:
        subprocess.run(
            [engine.executable, "-f", "txt", "eng-spa"],
            input=joined,
            capture_output=True,
            check=True,
        )

    items = [(str(i), t) for i, t in enumerate(texts)]
    # interleaved, best of each: the box is shared and Apertium is a pipe of ~12 processes
    raw_time, isolated, full = interleaved_best(
        [
            raw,
            lambda: engine.translate_batch(texts, "en", "es"),
            lambda: translate_segments(
                items, engine, protector=SpanProtector(), source="en", target="es", now=NOW
            ),
        ],
        repeats,
    )
    print(f"  throughput ({len(texts)} fields, {len(joined) // 1024} KiB, best of {repeats}):")
    print(f"    raw `apertium -f txt` one call   {raw_time:6.2f} s")
    print(
        f"    isolated segments, one call      {isolated:6.2f} s  "
        f"= {raw_time / isolated:.2f}x raw speed, time {isolated / raw_time:.2f}x (<= 1.2x)"
    )
    print(f"    + spans, guard, glossary path    {full:6.2f} s  time {full / raw_time:.2f}x raw")
    return tally.lost_unflagged == 0 and tally.bleed == 0 and isolated / raw_time <= 1.2


def bench_argos(corpus: dict[str, Any], repeats: int, quick: bool) -> bool:
    from workers.translation.argos_engine import EngineSettings, get_engine, split_sentences
    from workers.translation.model_builder import build_argos_package

    shape = (
        {"layers": 2, "d_model": 64, "heads": 4, "vocab_size": 600}
        if quick
        else {"layers": 2, "d_model": 256, "heads": 4, "vocab_size": 8000}
    )
    with tempfile.TemporaryDirectory(prefix="bench-fidelity-") as tmp:
        root = Path(tmp)
        archive = build_argos_package(
            root / "en_es.argosmodel",
            from_code="en",
            to_code="es",
            corpus_sentences=3000 if quick else 8000,
            **shape,
        )
        install_package(root / "data", archive)
        engine = get_engine(EngineSettings(root / "data", beam_size=1, intra_threads=2))
        tally = Tally()
        fidelity(engine, corpus, tally)
        glossary_check(engine, corpus, tally)
        report(f"argos en->es (RANDOM weights {shape}: output is gibberish)", tally)
        texts = [f["text"] for r in corpus["requests"] for f in r["fields"]]
        translator = engine.ctranslate2_translator("en", "es")
        tokenizer = engine.route("en", "es")[0].package.tokenizer
        pieces = [tokenizer.encode(s) for t in texts for s in split_sentences(t)]
        same = {
            "batch_type": "tokens",
            "max_batch_size": engine.settings.max_batch_tokens,
            "beam_size": 1,
            "replace_unknowns": True,
            "length_penalty": 0.2,
            "max_decoding_length": engine.settings.max_decoding_length,
        }
        engine.translate_batch(texts[:4], "en", "es")  # warm-up
        raw_time, ours = interleaved_best(
            [
                lambda: translator.translate_batch(pieces, **same),
                lambda: engine.translate_batch(texts, "en", "es", beam_size=1),
            ],
            repeats,
        )
        print(f"  throughput ({len(texts)} fields, {len(pieces)} sentences, best of {repeats}):")
        print(f"    raw CTranslate2 translate_batch  {raw_time:6.2f} s")
        print(
            f"    isolated segments (engine)       {ours:6.2f} s  "
            f"= {raw_time / ours:.2f}x raw speed (>= 0.9x)"
        )
        return tally.lost_unflagged == 0 and tally.bleed == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller argos model, 1 repeat")
    args = parser.parse_args()
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    items = sum(len(f["must_survive"]) for r in corpus["requests"] for f in r["fields"])
    print(
        f"corpus: {len(corpus['requests'])} requests, {corpus['sentences']} sentences, "
        f"{items} must-survive items, {len(corpus['glossary_set'])} glossary sentences"
    )
    repeats = 1 if args.quick else 5
    ok = bench_apertium(corpus, repeats)
    ok = bench_argos(corpus, repeats, args.quick) and ok
    if not ok:
        print("FAILED: unflagged losses, bleed or isolation overhead above target")
        sys.exit(1)


if __name__ == "__main__":
    main()
