"""The argostranslate engine: offline, inside the data dir, batched, memory-flat."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from workers.translation.argos_engine import EngineSettings, get_engine

REPO = Path(__file__).resolve().parents[2]


def test_stock_argostranslate_and_our_engine_run_offline_inside_the_data_dir(
    argos_data_dir: Path, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),  # must stay empty: nothing may be written there
        "PYTHONPATH": str(REPO),
    }
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("offline_probe.py")), str(argos_data_dir)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    report = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    assert report["stock"].strip()
    assert report["ours"].strip()
    assert report["chunk_type"] == "SPACY"
    assert report["package_dir"] == report["expected_packages"]
    assert report["data_dir"].startswith(str(argos_data_dir.resolve()))
    assert report["cache_dir"].startswith(str(argos_data_dir.resolve()))
    assert not (tmp_path / "home").exists()


def test_engine_is_loaded_once_per_process(argos_engine: Any, argos_data_dir: Path) -> None:
    same = get_engine(EngineSettings(argos_data_dir, beam_size=2, intra_threads=2))
    assert same is argos_engine
    first = argos_engine.ctranslate2_translator("en", "es")
    argos_engine.translate_batch(["One more sentence."], "en", "es")
    assert argos_engine.ctranslate2_translator("en", "es") is first


def test_outputs_keep_input_order_and_line_structure(argos_engine: Any) -> None:
    texts = ["First line.\nSecond line.", "", "A. B. C.", "Another text."]
    outputs = argos_engine.translate_batch(texts, "en", "es")
    assert len(outputs) == 4
    assert outputs[0].text.count("\n") == 1
    assert outputs[1].text == ""
    single = [argos_engine.translate_batch([t], "en", "es")[0].text for t in texts]
    assert [o.text for o in outputs] == single  # batching does not change results


def test_worker_memory_stays_flat_over_10000_segments(argos_engine: Any) -> None:
    process = psutil.Process()
    texts = [f"The witness number {i} saw the transfer of money." for i in range(1000)]
    for warm_up in range(4):  # allocator pools grow for a few rounds, then plateau
        argos_engine.translate_batch([f"{t} W{warm_up}." for t in texts], "en", "es", beam_size=1)
    gc.collect()
    baseline = process.memory_info().rss
    peak = baseline
    for round_index in range(10):
        batch = [f"{t} Round {round_index}." for t in texts]
        outputs = argos_engine.translate_batch(batch, "en", "es", beam_size=1)
        assert len(outputs) == 1000
        gc.collect()
        peak = max(peak, process.memory_info().rss)
    growth_mib = (peak - baseline) / 2**20
    print(
        f"\nRSS baseline {baseline / 2**20:.1f} MiB, "
        f"growth over 10 000 segments {growth_mib:.1f} MiB"
    )
    assert growth_mib < 32


def test_argos_environment_cannot_be_redirected_after_import(
    argos_engine: Any, tmp_path: Path
) -> None:
    from workers.translation.argos_env import ArgosEnvironmentError, prepare_argos_environment

    with pytest.raises(ArgosEnvironmentError):
        prepare_argos_environment(tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
