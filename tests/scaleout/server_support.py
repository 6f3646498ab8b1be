"""A real `rogatory serve` (gunicorn) in its own process group, and its memory."""

from __future__ import annotations

import signal
from pathlib import Path

import process_support
import psutil

MIB = 1024 * 1024


class GatewayProcess(process_support.GatewayProcess):
    """`rogatory serve` (see process_support), and the memory of its arbiter and workers."""

    def processes(self) -> list[psutil.Process]:
        """The arbiter and its worker processes."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> int:
        """Resident memory of the arbiter and all its workers now."""
        total = 0
        for proc in self.processes():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def peak_rss(self) -> int:
        """The largest VmHWM among the arbiter and its workers."""
        peak = 0
        for proc in self.processes():
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        return peak

    def terminate(self) -> None:
        """SIGTERM to the arbiter only: gunicorn's graceful shutdown."""
        self.process.send_signal(signal.SIGTERM)
