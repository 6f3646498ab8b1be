"""The CLI keeps freed 1 MiB pieces for reuse (gateway/runtime/allocator.py): pieces moved
through a ring and a queue between two threads, as a stream moves them, cost the kernel
far fewer page faults than with glibc's defaults. Each run is its own process (mallopt is
process-wide); the kernel counts the faults (ru_minflt)."""

from __future__ import annotations

import os
import subprocess
import sys

STREAM = """
import queue, resource, sys, threading
from gateway.runtime.allocator import keep_freed_pieces
kept = keep_freed_pieces() if sys.argv[1] == "keep" else False
pieces = queue.Queue(4)
def consume():
    while pieces.get() is not None:
        pass
consumer = threading.Thread(target=consume)
consumer.start()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
ring = [b""] * 8
for i in range(2000):
    ring[i % 8] = bytes(bytearray(1 << 20))
    pieces.put(b"\\1" * (1 << 20))
pieces.put(None)
consumer.join()
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    out = subprocess.run(
        [sys.executable, "-c", STREAM, mode],
        env=clean | env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return out[0], int(out[1])


def test_freed_pieces_are_reused_instead_of_faulted_in_again():
    kept, with_setting = _faults("keep")
    default, without = _faults("default")
    assert (kept, default) == ("True", "False")
    # 6,000 MiB allocated and freed; with the defaults ~10 times the faults here
    assert with_setting * 4 < without, (with_setting, without)


def test_an_operators_environment_setting_wins():
    _, kept_faults = _faults("keep")
    small = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    kept, faults = _faults("keep", **small)
    assert kept == "False"
    assert faults > 4 * kept_faults, (faults, kept_faults)  # the operator's small values hold
