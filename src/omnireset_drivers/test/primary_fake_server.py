"""Loopback stand-in for the UR primary client interface (tests only): on connect, a version
message (type 20), then robot state messages (type 16) at 10 Hz, each with a robot mode and a
joint data sub-package and, from the ``kinematics_from``-th message on, the kinematics info, in
the controller's big-endian layout."""
from __future__ import annotations

import struct

from line_server import LoopbackServer

from omnireset_drivers.ur_primary import kinematics_info_payload

# A nominal UR5e as its controller reports it (theta, a, d, alpha).
UR5E_DH = ((0.0,) * 6, (0.0, -0.425, -0.3922, 0.0, 0.0, 0.0), (0.1625, 0.0, 0.0, 0.1333, 0.0997, 0.0996),
           (1.570796327, 0.0, 0.0, 1.570796327, -1.570796327, 0.0))


def _framed(kind: int, body: bytes) -> bytes:
    """A message or a sub-package: int32 length including this header, uint8 type, then the body."""
    return struct.pack(">iB", 5 + len(body), kind) + body


class FakePrimaryServer(LoopbackServer):
    def __init__(self, dh=UR5E_DH, kinematics_from: int = 1, messages: int = 50):
        self.dh, self.kinematics_from, self.messages = dh, kinematics_from, messages
        super().__init__()

    def _state(self, k: int) -> bytes:
        mode = _framed(0, struct.pack(">Q7?BBddd", 0, True, True, False, False, False, True, False, 7, 0, 1.0, 1.0, 1.0))
        joints = _framed(1, b"".join(struct.pack(">dddfffffB", 0.1 * i, 0.1 * i, 0.0, 0, 48, 30, 35, 0, 253)
                                     for i in range(6)))
        body = mode + joints
        if k >= self.kinematics_from:
            body += kinematics_info_payload((1, 2, 3, 4, 5, 6), *self.dh)
        return _framed(16, body)

    def serve(self, conn) -> None:
        conn.sendall(_framed(20, struct.pack(">QbB", 0, -2, 3) + b"\x09URControl\x05\x0b" + b"\x00" * 30))
        for k in range(self.messages):
            if self.wait(0.1):
                return
            conn.sendall(self._state(k))
