"""The UR controller's dashboard server (TCP 29999, one text line per command and reply): the
PolyScope version, and the oldest PolyScope whose controller runs ur_rtde's direct torque.

On connect the server greets with ``Connected: Universal Robots Dashboard Server``; the command
``PolyscopeVersion`` is answered with e.g. ``URSoftware 5.23.0.1234567 (Dec 01 2025)``. PolyScope X
(10.x) has no dashboard server (its Robot API replaces it) and CB3 controllers (3.x) have no
direct torque: both are refused with the reason.
"""
from __future__ import annotations

import re
import socket

from omnireset_core.interfaces import HardwareError

DASHBOARD_PORT = 29999
GREETING = "Connected: Universal Robots Dashboard Server"
# ur_rtde release -> oldest PolyScope 5 whose controller runs that release's direct_torque script
MIN_POLYSCOPE_FOR_UR_RTDE = {(1, 6, 3): (5, 23, 0), (1, 6, 5): (5, 26, 0)}
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int]:
    """(major, minor, bugfix) of the first ``a.b.c`` in ``text``; ValueError if there is none."""
    match = _VERSION.search(text)
    if match is None:
        raise ValueError(f"no version number in {text!r}")
    return tuple(int(g) for g in match.groups())  # type: ignore[return-value]


def required_polyscope(ur_rtde_version: tuple[int, int, int]) -> tuple[int, int, int]:
    """The oldest PolyScope for this ur_rtde: the entry of the newest listed release not after it."""
    known = sorted(v for v in MIN_POLYSCOPE_FOR_UR_RTDE if v <= tuple(ur_rtde_version))
    if not known:
        oldest = ".".join(map(str, min(MIN_POLYSCOPE_FOR_UR_RTDE)))
        raise HardwareError(f"ur_rtde {'.'.join(map(str, ur_rtde_version))} has no direct torque; "
                            f"install ur_rtde >= {oldest}")
    return MIN_POLYSCOPE_FOR_UR_RTDE[known[-1]]


def _read_line(sock: socket.socket, what: str) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            raise HardwareError(f"the dashboard server closed the connection before {what}")
        data += chunk
        if len(data) > 4096:
            raise HardwareError(f"the dashboard server sent an over-long line as {what}")
    return data.decode("utf-8", "replace").strip()


def polyscope_version(host: str, port: int = DASHBOARD_PORT, timeout_s: float = 2.0) -> tuple[tuple[int, int, int], str]:
    """(version, the server's reply) of the PolyScope at ``host``; HardwareError saying why not."""
    where = f"UR dashboard server at {host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            greeting = _read_line(sock, "its greeting")
            if not greeting.startswith(GREETING):
                raise HardwareError(f"{where} greeted with {greeting!r}, not {GREETING!r}")
            sock.sendall(b"PolyscopeVersion\n")
            reply = _read_line(sock, "the PolyScope version")
    except socket.timeout:
        raise HardwareError(f"{where}: no answer within {timeout_s:.1f} s") from None
    except OSError as exc:
        raise HardwareError(f"{where}: {exc.strerror or exc} (is the dashboard server enabled in the robot's "
                            "security settings and reachable? PolyScope X has none: this backend needs PolyScope "
                            "5)") from None
    except HardwareError as exc:
        raise HardwareError(f"{where}: {exc}") from None
    try:
        return parse_version(reply), reply
    except ValueError:
        raise HardwareError(f"{where} answered PolyscopeVersion with {reply!r}") from None


def check_polyscope(host: str, ur_rtde_version: tuple[int, int, int], port: int = DASHBOARD_PORT,
                    timeout_s: float = 2.0) -> tuple[int, int, int]:
    """The robot's PolyScope version if it runs this ur_rtde's direct torque, else HardwareError."""
    version, reply = polyscope_version(host, port, timeout_s)
    need = required_polyscope(ur_rtde_version)
    rtde = ".".join(map(str, ur_rtde_version))
    if version[0] != need[0] or version < need:
        raise HardwareError(
            f"UR robot at {host} runs PolyScope {'.'.join(map(str, version))} ({reply!r}); direct torque with "
            f"ur_rtde {rtde} needs PolyScope >= {'.'.join(map(str, need))} on an e-Series controller: update "
            f"PolyScope, or install the ur_rtde release that matches it")
    return version
