"""Rendering benchmark: our pipeline vs raw WeasyPrint on the same HTML, a 100-page request,
and peak RSS growth per render.

Run: /tmp/venv/bin/python bench/bench_rendering.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "rendering")]

from pypdf import PdfReader  # noqa: E402
from rendering_samples import make_cover, make_form, make_translation, segment  # noqa: E402
from weasyprint import HTML  # noqa: E402

from workers.rendering import render_html, render_request_pdf  # noqa: E402
from workers.rendering.assets import ASSET_SCHEME, BundledAssetFetcher  # noqa: E402

MESSAGE = b"0\x82 bench signed message" * 100
SENTENCE_EN = "The suspect transferred the proceeds of the fraud to an account held abroad. "
SENTENCE_ES = "El sospechoso transfirió el producto del fraude a una cuenta en el extranjero. "


def normal_case() -> tuple[dict[str, Any], dict[str, Any], Any]:
    request_id = "req-bench"
    return (
        make_form("mla", "en"),
        make_translation("mla", "en", "es", request_id),
        make_cover(request_id, MESSAGE),
    )


def large_case(persons: int) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """An MLA request with `persons` persons concerned, each with a long description."""
    form, translation, cover = normal_case()
    template = form["sections"]["E"][0]
    form["sections"]["E"] = []
    for index in range(persons):
        person = dict(template, surname=f"Person{index:03d}")
        person["description"] = SENTENCE_EN * 38
        form["sections"]["E"].append(person)
        translation["fields"].append(
            segment(
                f"sections.E[{index}].description",
                person["description"],
                SENTENCE_ES * 38,
                "translated",
                [],
                "en",
                "es",
            )
        )
    form["sections"]["G"]["facts"] = SENTENCE_EN * 250
    for field in translation["fields"]:
        if field["path"] == "sections.G.facts":
            field["source"], field["target"] = form["sections"]["G"]["facts"], SENTENCE_ES * 250
    return form, translation, cover


def ours(case: tuple[dict[str, Any], dict[str, Any], Any]) -> bytes:
    form, translation, cover = case
    return render_request_pdf(
        form, translation, cover, original_message=MESSAGE, target_language="es"
    )


def raw(html: str) -> bytes:
    return HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=BundledAssetFetcher()).write_pdf()


def timed(fn: Any, *args: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rss_delta(case_name: str, persons: int) -> dict[str, float]:
    """Peak RSS above the pre-render RSS, sampled every 2 ms, for a cold and a warm render."""
    code = f"""
import json, sys, threading, time
import psutil
sys.path[:0] = {[str(ROOT / "bench")]!r}
import bench_rendering as b
case = b.normal_case() if {case_name!r} == "normal" else b.large_case({persons})
process = psutil.Process()
def peak_delta():
    start, peak, done = process.memory_info().rss, [0], threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    b.ours(case)
    done.set()
    sampler.join()
    return start, max(peak[0], process.memory_info().rss) - start
start, cold = peak_delta()
peak_delta()
_, warm = peak_delta()
print(json.dumps({{"start_mb": start / 2**20, "cold_mb": cold / 2**20, "warm_mb": warm / 2**20}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller large case")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    persons = 12 if args.quick else 60

    normal = normal_case()
    ours(normal)  # warm-up
    html = render_html(normal[0], normal[1], normal[2], target_language="es")
    t_raw, _ = timed(raw, html, repeat=repeat)
    t_ours, our_pdf = timed(ours, normal, repeat=repeat)
    pages = len(PdfReader(BytesIO(our_pdf)).pages)
    print(
        f"normal request ({pages} pages): raw WeasyPrint {t_raw:.3f}s, "
        f"ours (view+Jinja+PDF/A-3b+attachment) {t_ours:.3f}s, ratio {t_ours / t_raw:.2f}x "
        f"(target <= 1.20x)"
    )

    large = large_case(persons)
    large_html = render_html(large[0], large[1], large[2], target_language="es")
    t_raw_large, _ = timed(raw, large_html, repeat=1)
    t_large, large_pdf = timed(ours, large, repeat=1)
    large_pages = len(PdfReader(BytesIO(large_pdf)).pages)
    print(
        f"large request ({large_pages} pages): raw WeasyPrint {t_raw_large:.2f}s, "
        f"ours {t_large:.2f}s, ratio {t_large / t_raw_large:.2f}x, "
        f"{t_large / large_pages * 1000:.0f} ms/page, {len(large_pdf) / 1e6:.2f} MB"
    )

    for name in ("normal", "large"):
        mem = rss_delta(name, persons)
        print(
            f"peak RSS delta per render ({name}): first render {mem['cold_mb']:.0f} MB, "
            f"later renders {mem['warm_mb']:.0f} MB (process before: {mem['start_mb']:.0f} MB)"
        )


if __name__ == "__main__":
    main()
