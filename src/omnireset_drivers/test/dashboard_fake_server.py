"""Loopback stand-in for the UR dashboard server (tests only): greets on connect, answers
``PolyscopeVersion`` with a configured line and anything else with ``could not understand``."""
from __future__ import annotations

import socket
import threading

from line_server import serve_lines


class FakeDashboardServer:
    def __init__(self, version_reply: str = "URSoftware 5.23.0.1234567 (Dec 01 2025)",
                 greeting: str = "Connected: Universal Robots Dashboard Server"):
        self.version_reply, self.greeting = version_reply, greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.commands: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2.0)
                try:
                    conn.sendall(f"{self.greeting}\n".encode())
                except OSError:
                    continue
                serve_lines(conn, self._answer, lambda: not self._stop.is_set())

    def _answer(self, command: str) -> str:
        self.commands.append(command)
        return self.version_reply if command == "PolyscopeVersion" else f"could not understand: '{command}'"

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
