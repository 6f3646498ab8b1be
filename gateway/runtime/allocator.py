"""glibc's malloc kept from handing freed 1 MiB pieces back to the kernel at once.

Streams (a submission, a package, a pull) move 1 MiB pieces between threads. By default
glibc serves a block that size from the heap and trims the heap's top as soon as about
2 MiB there are free (or maps and unmaps it), so the next piece is fresh memory the kernel
faults in page by page; on the virtual machines we run on the host may have to supply
those pages again (the cost ``persistence/direct_io`` avoids for files). A fixed mmap
threshold of 4 MiB and a trim threshold of 16 MiB keep a few pieces' worth of freed memory
for reuse: 4,000 pieces through a ring and a queue between two threads take 3,800 page
faults instead of 35,000-41,000 (``tests/foundation/test_allocator.py``). In the 2 GiB
streaming bench (10 runs against 7 without) submit went from 358-569 to 428-611 MiB/s,
package from 483-645 to 544-664, pull from 385-506 to 456-590 (overlapping ranges: the
machine is noisy; every phase of the 10 runs at 0.56 of openssl or more). Peak RSS:
gateway 135 MB (137-140 in two runs with a 32 MiB trim threshold, hence 16), worker
127-128 MB, client 65 MB, as without. A process keeps at most TRIM_THRESHOLD of freed
heap per arena.

Environment settings (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``GLIBC_TUNABLES``) win; on a
C library without ``mallopt`` (musl, macOS) nothing changes.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024
TRIM_THRESHOLD = 16 * 1024 * 1024
_OVERRIDES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_pieces() -> bool:
    """Set the two thresholds for this process (and the processes it forks); whether
    they were set."""
    if any(name in os.environ for name in _OVERRIDES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
