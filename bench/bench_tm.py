"""Translation-memory benchmark: exact-match share, time vs MT-only, lookup cost per segment.

    .venv/bin/python bench/bench_tm.py            # 2 x 40 requests of 12 segments, Apertium en->es
    .venv/bin/python bench/bench_tm.py --quick    # 2 x 10 requests

A first batch of requests is machine-translated and its segments become TM entries (stored
encrypted in SQLite, as the gateway does). A second batch between the same authorities
repeats the recurring phrases with other names, dates and amounts, plus new sentences.
Baselines measured in the same run: the second batch through the engine alone.
Apertium costs mostly per call (one subprocess per request), so time falls with the number
of requests the memory covers entirely, not with the share of segments.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine

from gateway.crypto import at_rest
from gateway.persistence import memory_store
from gateway.persistence.memory_tables import translation_memory
from gateway.persistence.metadata import metadata
from gateway.persistence.tables import authorities
from gateway.translation.memory import MemoryLookup, MemoryTranslator, mask_pair
from gateway.translation.request_translation import translate_segments
from gateway.translation.spans import SpanProtector
from workers.translation.apertium_engine import ApertiumEngine

RECURRING = [
    "The assets of the suspect {name} must be frozen before {date}.",
    "We request a hearing by video link of the witness {name} on {date}.",
    "Please provide the statements of the bank account {iban} for the period up to {date}.",
    "The suspect transferred {amount} to a company in Madrid.",
    "The witness must be informed of the right not to answer questions.",
    "Please send the documents with a signed statement of the bank.",
    "The money was sent to a bank account abroad on {date}.",
    "The suspect is about to move the funds abroad.",
]
WORDS = [
    "the",
    "house",
    "car",
    "bank",
    "money",
    "judge",
    "court",
    "witness",
    "company",
    "street",
    "city",
    "letter",
    "report",
    "police",
    "office",
    "document",
    "contract",
    "account",
    "payment",
    "invoice",
    "family",
    "friend",
    "teacher",
]
NAMES = ["Pieter Jansen", "Maria Lopez", "Hans Weber", "Ana Garcia", "Jan de Vries"]


def sentence(rng: random.Random, template: str) -> str:
    return template.format(
        name=rng.choice(NAMES),
        date=f"{rng.randint(1, 28)} March {rng.randint(2020, 2027)}",
        iban=f"NL{rng.randint(10, 99)} ABNA 0417 {rng.randint(1000, 9999)} 00",
        amount=f"EUR {rng.randint(1, 99)}.{rng.randint(100, 999)},00",
    )


def novel(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 12))]
    return "The " + " ".join(words) + "."


def batch(rng: random.Random, requests: int, per_request: int, recurring: float) -> list[list[str]]:
    return [
        [
            sentence(rng, rng.choice(RECURRING)) if rng.random() < recurring else novel(rng)
            for _ in range(per_request)
        ]
        for _ in range(requests)
    ]


def translate(batches: list[list[str]], translator: object) -> tuple[float, list[list[str]]]:
    protector = SpanProtector(known_names=NAMES)
    outputs = []
    start = time.perf_counter()
    for texts in batches:
        results = translate_segments(
            [(f"p[{i}]", t) for i, t in enumerate(texts)],
            translator,  # type: ignore[arg-type]
            protector=protector,
            source="en",
            target="es",
            now=datetime.now(UTC),
        )
        outputs.append([r.target or "" for r in results])
    return time.perf_counter() - start, outputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    requests = 10 if args.quick else 40
    per_request = 12
    rng = random.Random(19)
    engine = ApertiumEngine()
    first = batch(rng, requests, per_request, recurring=0.8)
    second = batch(rng, requests, per_request, recurring=0.7)

    _, first_targets = translate(first, engine)
    protector = SpanProtector(known_names=NAMES)
    kek = at_rest.FileKek(at_rest.new_data_key())
    pair = memory_store.Pair("nl-om-rotterdam", "es-fiscalia-madrid", "en", "es")
    with tempfile.TemporaryDirectory() as folder:
        db = create_engine(f"sqlite:///{folder}/tm.db")
        metadata.create_all(db, tables=[authorities, translation_memory])
        start = time.perf_counter()
        with db.begin() as conn:
            for texts, targets in zip(first, first_targets, strict=True):
                for source, target in zip(texts, targets, strict=True):
                    masked_source, masked_target = mask_pair(protector, source, target)
                    memory_store.put(
                        conn,
                        kek,
                        pair,
                        memory_store.NewEntry(
                            source, target, masked_source, masked_target, "bench", None
                        ),
                    )
        store_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with db.begin() as conn:
            entries = memory_store.load(conn, kek, pair)
        load_seconds = time.perf_counter() - start
        db.dispose()
    memory = MemoryLookup(entries)

    mt_seconds, _ = translate(second, engine)
    tm_translator = MemoryTranslator(engine, memory)
    tm_seconds, _ = translate(second, tm_translator)
    segments = sum(len(texts) for texts in second)
    share = tm_translator.hits / segments

    masked = [protector.mask(t).masked for texts in second for t in texts]
    start = time.perf_counter()
    for _ in range(20):
        for text in masked:
            memory.exact(text)
    exact_us = (time.perf_counter() - start) / (20 * len(masked)) * 1e6
    start = time.perf_counter()
    sample = masked[:200]
    for text in sample:
        memory.fuzzy(text)
    fuzzy_us = (time.perf_counter() - start) / len(sample) * 1e6

    print(f"TM entries from first batch:  {len(entries)} ({requests} requests x {per_request})")
    print(
        f"TM store (encrypt + insert):  {store_seconds / max(1, len(entries)) * 1e6:.0f} us/entry"
    )
    print(f"TM load (select + decrypt):   {load_seconds / max(1, len(entries)) * 1e6:.0f} us/entry")
    print(f"second batch segments:        {segments}")
    print(f"exact-match share:            {share:.1%} ({tm_translator.hits} from TM)")
    print(f"requests needing the engine:  {tm_translator.engine_calls} of {requests}")
    print(f"second batch MT only:         {mt_seconds:.2f} s")
    print(
        f"second batch TM + MT:         {tm_seconds:.2f} s  (ratio {tm_seconds / mt_seconds:.2f})"
    )
    print(f"exact lookup per segment:     {exact_us:.1f} us (hash of normalised masked text)")
    print(f"fuzzy suggestion per segment: {fuzzy_us:.0f} us (rapidfuzz ratio >= 85)")
    if tm_translator.hits == 0:
        raise SystemExit("no exact matches: the TM did not work")


if __name__ == "__main__":
    main()
