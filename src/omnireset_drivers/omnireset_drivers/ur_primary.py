"""The UR controller's primary client interface (TCP 30001), read for one thing: the calibration
hash of the robot's kinematics, to refuse a calibration file made on another robot.

Wire format (big-endian): a message is ``>iB`` (int32 length including this header, uint8 type)
and its payload; a robot state message (type 16) holds sub-packages, each ``>iB`` (int32 length
including its header, uint8 type) and payload. The kinematics info sub-package (type 5) holds six
uint32 checksums, then DH theta, a, d, alpha (six doubles each) and a uint32 calibration status.
The controller sends robot state at 10 Hz; other messages (version, text, safety) are skipped.

The hash is the one ``ur_calibration`` writes into the calibration file (``kinematics.hash``):
``calib_`` + the C++ standard library's ``std::hash<std::string>`` (libstdc++: MurmurHash64A-like
``_Hash_bytes`` with seed 0xc70f6907) of theta, d, a, alpha per joint, each written by a C++
stream at its default precision (``%g``). For the nominal UR5e it gives ur_description's
``calib_12788084448423163542``.
"""
from __future__ import annotations

import socket
import struct
import time

from omnireset_core.interfaces import HardwareError

PRIMARY_PORT = 30001
MESSAGE_ROBOT_STATE = 16
PACKAGE_KINEMATICS_INFO = 5
_KINEMATICS = struct.Struct(">6I24dI")
_MAX_MESSAGE_BYTES = 1 << 16  # a robot state message is a few kB: more is a desynchronised stream
_M64 = (1 << 64) - 1


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def std_hash(data: bytes, seed: int = 0xC70F6907) -> int:
    """libstdc++'s 64-bit ``std::_Hash_bytes`` (what ``std::hash<std::string>`` returns)."""
    mul = (0xC6A4A793 << 32) + 0x5BD1E995
    aligned = len(data) & ~7
    h = (seed ^ (len(data) * mul)) & _M64
    for i in range(0, aligned, 8):
        word = int.from_bytes(data[i:i + 8], "little")
        h = ((h ^ ((_shift_mix((word * mul) & _M64) * mul) & _M64)) * mul) & _M64
    if len(data) & 7:
        h = ((h ^ int.from_bytes(data[aligned:], "little")) * mul) & _M64
    return _shift_mix((_shift_mix(h) * mul) & _M64)


def calibration_hash(theta_rad, a_m, d_m, alpha_rad) -> str:
    """The calibration hash of a controller reporting these DH values (as ur_calibration computes it)."""
    text = "".join(f"{theta_rad[i]:g}{d_m[i]:g}{a_m[i]:g}{alpha_rad[i]:g}" for i in range(6))
    return f"calib_{std_hash(text.encode())}"


def kinematics_info_payload(checksums, theta_rad, a_m, d_m, alpha_rad, calibration_status: int = 0) -> bytes:
    """A kinematics info sub-package (header included), as the controller sends it."""
    body = _KINEMATICS.pack(*checksums, *theta_rad, *a_m, *d_m, *alpha_rad, calibration_status)
    return struct.pack(">iB", 5 + len(body), PACKAGE_KINEMATICS_INFO) + body


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise HardwareError("the primary interface closed the connection")
        data += chunk
    return data


def _kinematics_in(payload: bytes) -> tuple | None:
    """(theta, a, d, alpha) of a robot state message's kinematics info, if it has one."""
    offset = 0
    while offset + 5 <= len(payload):
        length, kind = struct.unpack_from(">iB", payload, offset)
        if length < 5 or offset + length > len(payload):
            raise HardwareError(f"malformed robot state sub-package (length {length}, type {kind})")
        if kind == PACKAGE_KINEMATICS_INFO:
            if length - 5 < _KINEMATICS.size:
                raise HardwareError(f"kinematics info of {length - 5} bytes, expected {_KINEMATICS.size}")
            values = _KINEMATICS.unpack_from(payload, offset + 5)
            return values[6:12], values[12:18], values[18:24], values[24:30]
        offset += length
    return None


def robot_calibration_hash(host: str, port: int = PRIMARY_PORT, timeout_s: float = 2.0) -> str:
    """The calibration hash of the robot at ``host``, from the first kinematics info it sends."""
    where = f"UR primary interface at {host}:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                length, kind = struct.unpack(">iB", _read_exact(sock, 5))
                if not 5 <= length <= _MAX_MESSAGE_BYTES:
                    raise HardwareError(f"message length {length}: not a UR primary interface stream")
                payload = _read_exact(sock, length - 5)
                if kind == MESSAGE_ROBOT_STATE:
                    dh = _kinematics_in(payload)
                    if dh is not None:
                        return calibration_hash(*dh)
    except socket.timeout:
        pass
    except OSError as exc:
        raise HardwareError(f"{where}: {exc.strerror or exc}") from None
    except HardwareError as exc:
        raise HardwareError(f"{where}: {exc}") from None
    raise HardwareError(f"{where}: no kinematics info within {timeout_s:.1f} s")


def check_calibration(host: str, file_hash: str, file_name: str, port: int = PRIMARY_PORT,
                      timeout_s: float = 2.0) -> str:
    """The robot's calibration hash if it equals the calibration file's, else HardwareError."""
    robot_hash = robot_calibration_hash(host, port, timeout_s)
    if not file_hash:
        raise HardwareError(f"calibration file {file_name} has no kinematics.hash: extract it from this robot "
                            f"with ur_calibration (the robot reports {robot_hash})")
    if robot_hash != file_hash:
        raise HardwareError(f"calibration file {file_name} is for another robot or an older calibration: its hash is "
                            f"{file_hash}, the robot at {host} reports {robot_hash}; extract it again with "
                            "ur_calibration")
    return robot_hash
