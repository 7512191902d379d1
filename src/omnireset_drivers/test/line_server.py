"""What the loopback device fakes share: a server on an ephemeral port of 127.0.0.1 that serves
each connection on a thread of its own, and the request loop of the line protocols (text lines
ending in a newline, one reply each)."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class LoopbackServer:
    """Accepts one connection at a time on 127.0.0.1 and hands it to ``serve(conn)`` until
    ``close()`` (or the end of a ``with`` block); a connection that fails is dropped. Subclasses
    set their attributes before calling ``__init__``, which starts the server."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the server is closing."""
        return self._stop.wait(seconds)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            with conn:
                try:
                    self.serve(conn)
                except OSError:
                    continue

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve_lines(conn: socket.socket, reply: Callable[[str], str | None], alive: Callable[[], bool]) -> None:
    """Answer each line received on ``conn`` with ``reply(line)`` plus a newline (no answer when
    it returns None) until the peer closes, the socket fails or ``alive()`` turns false."""
    buffer = b""
    while alive():
        try:
            chunk = conn.recv(1024)
        except OSError:
            return
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            answer = reply(raw.decode().strip())
            if answer is not None:
                try:
                    conn.sendall(f"{answer}\n".encode())
                except OSError:
                    return
