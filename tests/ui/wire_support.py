"""A loopback TCP relay that keeps every byte a browser sends: "checked on the wire"."""

from __future__ import annotations

import contextlib
import re
import socket
import threading

from process_support import free_port


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
        """Bodies of the requests matching method and path (the whole path must match).

        Each connection is walked request by request, framed by Content-Length (or chunked
        transfer coding): on a keep-alive connection a request follows the previous one's
        body directly, with no line break before it when that body is binary."""
        with self._lock:
            connections = [bytes(r) for r in self._sent]
        wanted = re.compile(path_pattern.encode())
        found = []
        for data in connections:
            for line, body in _requests(data):
                verb, _, rest = line.partition(b" ")
                path = rest.rsplit(b" ", 1)[0]
                if verb == method.encode() and wanted.fullmatch(path):
                    found.append(body)
        return found

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            end.close()


def _requests(data: bytes) -> list[tuple[bytes, bytes]]:
    """(request line, body) of each request in one connection's client-to-server bytes."""
    requests = []
    at = 0
    while at < len(data):
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            break  # a head still arriving
        head = data[at:end].decode("latin-1").split("\r\n")
        fields = (h.partition(":") for h in head[1:])
        headers = {name.strip().lower(): value.strip() for name, _, value in fields}
        at = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_end = data.find(b"\r\n", at)
                if size_end < 0:
                    break
                size = int(data[at:size_end].split(b";")[0], 16)
                body += data[size_end + 2 : size_end + 2 + size]
                at = size_end + 2 + size + 2
                if size == 0:
                    break
            requests.append((head[0].encode("latin-1"), bytes(body)))
        else:
            size = int(headers.get("content-length", "0"))
            requests.append((head[0].encode("latin-1"), data[at : at + size]))
            at += size
    return requests
