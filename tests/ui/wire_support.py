"""A loopback TCP relay that keeps every byte a browser sends: "checked on the wire"."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

from browser_support import free_port


class RecordingRelay:
    """127.0.0.1:<port> -> the server; `sent` holds each connection's client-to-server bytes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._sent: list[bytearray] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.5)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            record = bytearray()
            with self._lock:
                self._sent.append(record)
                self._sockets += [client, upstream]
            for source, sink, keep in ((client, upstream, record), (upstream, client, None)):
                threading.Thread(target=self._pipe, args=(source, sink, keep), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        try:
            while chunk := source.recv(65536):
                if record is not None:
                    record.extend(chunk)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def sent(self) -> bytes:
        """Everything the browser sent so far, all connections joined."""
        with self._lock:
            # one line break between connections, so each one's first request starts a line
            return b"\n".join(bytes(r) for r in self._sent)

    def bodies(self, method: str, path_pattern: str) -> list[bytes]:
        """Bodies (Content-Length framed) of the requests matching method and path."""
        data = self.sent()
        found = []
        head = re.compile(
            rb"(?m)^" + method.encode() + rb" (" + path_pattern.encode() + rb") HTTP/1\.1\r\n"
        )
        for match in head.finditer(data):
            end = data.index(b"\r\n\r\n", match.end()) + 4
            headers = data[match.end() : end].decode("latin-1").lower()
            length = re.search(r"content-length: *(\d+)", headers)
            size = int(length.group(1)) if length else 0
            found.append(data[end : end + size])
        return found

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            end.close()
