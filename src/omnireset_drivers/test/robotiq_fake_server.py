"""Loopback stand-in for the Robotiq URCap socket server with a simple finger model (tests only)."""
from __future__ import annotations

import socket
import threading
import time

from line_server import serve_lines


class FakeRobotiqServer:
    """Serves one client at a time on 127.0.0.1:<ephemeral>.

    Fingers move towards the requested position at ``stroke_per_s`` register units per second once
    activated with GTO=1; an object at register position ``object_at`` stops a closing motion (OBJ=2).
    """

    def __init__(self, activation_delay_s=0.05, object_at=None, stroke_per_s=5000.0, activates=True,
                 start_activated=False):
        self.activation_delay_s = activation_delay_s
        self.object_at = object_at
        self.stroke_per_s = stroke_per_s
        self.activates = activates
        self.silent = False  # stop replying (to test timeouts)
        self.requests: list[str] = []
        self.regs = {"ACT": 0, "GTO": 0, "ATR": 0, "POS": 0, "SPE": 0, "FOR": 0}
        self.sta = 3 if start_activated else 0
        if start_activated:
            self.regs["ACT"] = 1
        self.position = 0.0
        self.obj = 3
        self._act_t = None
        self._t = time.monotonic()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self._conn = None
        self._alive = True
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    # --- finger model ----------------------------------------------------------------------
    def _update(self) -> None:
        now = time.monotonic()
        dt, self._t = now - self._t, now
        if self.sta == 1 and self.activates and now - self._act_t >= self.activation_delay_s:
            self.sta = 3
        if self.sta != 3 or not self.regs["GTO"]:
            return
        target = float(self.regs["POS"])
        if self.object_at is not None and target > self.object_at and self.position >= self.object_at:
            self.position, self.obj = float(self.object_at), 2
            return
        step = self.stroke_per_s * dt
        if abs(target - self.position) <= step:
            self.position = target
            self.obj = 3
        else:
            self.position += step if target > self.position else -step
            self.obj = 0
            if self.object_at is not None and target > self.object_at and self.position >= self.object_at:
                self.position, self.obj = float(self.object_at), 2

    def _handle(self, line: str) -> str:
        words = line.split()
        with self._lock:
            self._update()
            if len(words) >= 3 and words[0] == "SET" and len(words) % 2 == 1:
                for var, value in zip(words[1::2], words[2::2]):
                    self.regs[var] = int(value)
                    if var == "ACT":
                        if int(value) == 1 and self.sta == 0:
                            self.sta, self._act_t = 1, time.monotonic()
                        elif int(value) == 0:
                            self.sta, self.regs["GTO"] = 0, 0
                return "ack"
            if len(words) == 2 and words[0] == "GET":
                var = words[1]
                values = {"STA": self.sta, "POS": int(round(self.position)), "OBJ": self.obj,
                          "FLT": 0, "PRE": self.regs["POS"]}
                values.update({k: v for k, v in self.regs.items() if k not in values})
                if var in values:
                    return f"{var} {values[var]}"
            return "?"

    # --- server ----------------------------------------------------------------------------
    def _serve(self) -> None:
        while self._alive:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._conn = conn
            with conn:
                serve_lines(conn, self._answer, lambda: self._alive)

    def _answer(self, line: str) -> str | None:
        self.requests.append(line)
        return None if self.silent else self._handle(line)

    def kill(self) -> None:
        """The server process dies: listener and client connection close."""
        self._alive = False
        for sock in (self._listener, self._conn):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._thread.join(timeout=2)

    def set_commands(self) -> list[str]:
        return [r for r in self.requests if r.startswith("SET POS")]
