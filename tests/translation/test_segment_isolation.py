"""Issue 13: every field is its own segment from extraction to result, for every engine."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.translation.request_translation import translate_segments
from gateway.translation.spans import SpanProtector
from workers.translation.apertium_engine import ApertiumEngine
from workers.translation.apertium_stream import IsolationBroken, build_stream, parse_stream

NOW = datetime(2026, 3, 1, tzinfo=UTC)
_VOCABULARY = (
    "the money was sent to a company red car bought yesterday he she investigation "
    "bank account large old house police officer court of fraud evidence phone new "
    "suspect witness statement false invoices and with in on for by from"
)
WORDS = _VOCABULARY.split()
ENDINGS = ("", ".", "!", "?", ",", ";", ":")


def _translate(engine: Any, texts: list[str]) -> list[Any]:
    items = [(f"f[{i}]", text) for i, text in enumerate(texts)]
    return translate_segments(
        items, engine, protector=SpanProtector(), source="en", target="es", now=NOW
    )


def test_an_adjective_and_its_noun_never_cross_a_field_boundary(apertium: Any) -> None:
    # one raw `apertium -f txt` call on these two lines gives "un coche" / "rojo ayer"
    first, second = _translate(apertium, ["He bought a red", "car yesterday"])
    assert "coche" not in first.target
    assert "rojo" not in second.target
    assert "rojo" in first.target


def test_a_field_without_final_punctuation_keeps_its_words(apertium: Any) -> None:
    facts, qualification = _translate(apertium, ["The money was sent to a company", "Forgery"])
    assert facts.target == "El dinero estuvo enviado a una empresa"
    assert qualification.target == "Forgery"


def test_stream_boundaries_must_come_back_complete_and_in_order() -> None:
    stream, nonce = build_stream(["one", "two"])
    assert stream.count(f"rogatory-seg-{nonce}-") == 2
    swapped = stream.replace(f"{nonce}-0", "X").replace(f"{nonce}-1", f"{nonce}-0")
    for broken in (stream.replace(f"[rogatory-seg-{nonce}-1]", ""), swapped):
        try:
            parse_stream(broken, nonce, 2, ["one", "two"])
        except IsolationBroken:
            continue
        raise AssertionError("a broken boundary was accepted")
    assert [o.text for o in parse_stream(stream, nonce, 2, ["one", "two"])] == ["one", "two"]


def _wrapper(tmp_path: Path, body: str) -> str:
    """A stand-in `apertium` that runs the real one and then misbehaves as told."""
    script = tmp_path / "apertium"
    script.write_text(
        f"#!{sys.executable}\n"
        "import subprocess, sys\n"
        "data = sys.stdin.buffer.read()\n"
        "out = subprocess.run(['/usr/bin/apertium', *sys.argv[1:]], input=data,\n"
        "                     capture_output=True, check=True).stdout\n" + body
    )
    script.chmod(0o755)
    return str(script)


def test_a_lost_boundary_is_retranslated_one_segment_at_a_time(tmp_path: Path) -> None:
    # the stand-in drops the first boundary whenever several segments share a call
    executable = _wrapper(
        tmp_path,
        "import re\n"
        "if data.count(b'rogatory-seg-') > 1:\n"
        "    out = re.sub(rb'\\[rogatory-seg-[0-9a-f]+-0\\]', b' ', out)\n"
        "sys.stdout.buffer.write(out)\n",
    )
    engine = ApertiumEngine(executable=executable)
    first, second = engine.translate_batch(["He bought a red", "car yesterday"], "en", "es")
    assert "rojo" in first.text
    assert "coche" not in first.text
    assert second.text.endswith("ayer")


def test_an_engine_crash_fails_only_that_segment(tmp_path: Path) -> None:
    executable = _wrapper(
        tmp_path,
        "if b'Kaboom' in data:\n    sys.exit(3)\nsys.stdout.buffer.write(out)\n",
    )
    engine = ApertiumEngine(executable=executable)
    good, bad, other = _translate(engine, ["The bank account.", "Kaboom here.", "The house."])
    assert (good.status, other.status) == ("translated", "translated")
    assert (bad.status, bad.target, bad.flags) == ("failed", None, ("engine-error",))


_field = st.tuples(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=12),
    st.sampled_from(ENDINGS),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.lists(_field, min_size=2, max_size=7), data=st.data())
def test_property_every_marker_appears_only_in_its_own_field(
    apertium: Any, fields: list[tuple[list[str], int, str]], data: st.DataObject
) -> None:
    texts, markers = [], []
    for number, (words, position, ending) in enumerate(fields):
        marker = f"Qz{number}x{data.draw(st.integers(100, 999))}"
        markers.append(marker)
        placed = [*words]
        placed.insert(min(position, len(placed)), marker)
        texts.append(" ".join(placed) + ending)
    results = _translate(apertium, texts)
    assert [r.path for r in results] == [f"f[{i}]" for i in range(len(texts))]
    for index, result in enumerate(results):
        assert result.target is not None
        for other, marker in enumerate(markers):
            assert (marker in result.target) == (other == index), (texts, result.target)


def test_argos_keeps_every_marker_in_its_own_field(argos_engine: Any) -> None:
    texts = [f"The suspect {m} sold cars" for m in ("AB-1001", "CD-2002", "EF-3003")]
    texts.append("Forgery")
    results = _translate(argos_engine, texts)
    for index, result in enumerate(results[:3]):
        assert result.target is not None
        for other, marker in enumerate(("AB-1001", "CD-2002", "EF-3003")):
            assert (marker in result.target) == (other == index)
