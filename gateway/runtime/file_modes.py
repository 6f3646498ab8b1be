"""Secrets at rest: the data directory is the owner's alone.

`init`, `serve`, `worker` and `demo` set umask 077 first, so every file they create is
0600 and every directory 0700. `secure_data_dir` corrects what an older version or a
careless copy left looser, with one log line per correction (loud, not silent).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def secure_data_dir(data_dir: Path) -> int:
    """Tighten the data directory tree to 0700/0600; returns how many modes changed."""
    if not data_dir.exists():
        return 0
    changed = _tighten(data_dir, DIR_MODE)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            changed += _tighten(Path(root) / name, DIR_MODE)
        for name in files:
            changed += _tighten(Path(root) / name, FILE_MODE)
    return changed


def _tighten(path: Path, wanted: int) -> int:
    try:
        info = path.lstat()
    except FileNotFoundError:  # a file removed meanwhile (a finished temporary)
        return 0
    if stat.S_ISLNK(info.st_mode) or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        return 0  # sockets and links are left alone (the broker socket has its own mode)
    current = stat.S_IMODE(info.st_mode)
    if current & ~wanted & 0o077 == 0:
        return 0
    path.chmod(current & wanted)
    log.warning(
        "file mode corrected",
        extra={"path": str(path), "from": oct(current), "to": oct(current & wanted)},
    )
    return 1
