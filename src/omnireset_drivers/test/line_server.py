"""The request loop the loopback device fakes share: text lines ending in a newline, one reply each."""
from __future__ import annotations

import socket
from collections.abc import Callable


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
