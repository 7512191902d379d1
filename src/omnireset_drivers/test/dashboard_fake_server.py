"""Loopback stand-in for the UR dashboard server (tests only): greets on connect, answers
``PolyscopeVersion`` with a configured line and anything else with ``could not understand``."""
from __future__ import annotations

from line_server import LoopbackServer, serve_lines


class FakeDashboardServer(LoopbackServer):
    def __init__(self, version_reply: str = "URSoftware 5.23.0.1234567 (Dec 01 2025)",
                 greeting: str = "Connected: Universal Robots Dashboard Server"):
        self.version_reply, self.greeting = version_reply, greeting
        self.commands: list[str] = []
        super().__init__()

    def serve(self, conn) -> None:
        conn.settimeout(2.0)
        conn.sendall(f"{self.greeting}\n".encode())
        serve_lines(conn, self._answer, lambda: not self.stopping)

    def _answer(self, command: str) -> str:
        self.commands.append(command)
        return self.version_reply if command == "PolyscopeVersion" else f"could not understand: '{command}'"
