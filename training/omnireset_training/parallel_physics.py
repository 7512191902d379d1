"""``CellPhysics`` with its worlds split over worker processes, one per core.

The physics state, control and divergence flags live in shared memory (memfd, no name to leak):
this process reads and writes them between steps (observations, resets), the workers step their
slices in parallel. Each worker is a ``CellPhysics`` over its slice, with its own ``MjModel`` per
world, and runs the OSC law between its physics steps, so one policy step costs one message round
trip per worker. A worker exits when this process closes it or dies (its command pipe closes).

    python -m omnireset_training.parallel_physics   # a worker; started by ParallelCellPhysics only
"""
from __future__ import annotations

import mmap
import os
import signal
import subprocess
import sys
from multiprocessing.connection import Connection

import numpy as np

from omnireset_core.config import check_int

from omnireset_sim.config import CellConfig
from omnireset_training.physics import CellPhysics


def _nbytes(shape: tuple[int, ...], dtype) -> int:
    return max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize)


def _shared_array(shape: tuple[int, ...], dtype) -> tuple[np.ndarray, int]:
    """A zeroed array in anonymous shared memory and the memfd it lives in."""
    fd = os.memfd_create("omnireset_physics")
    os.ftruncate(fd, _nbytes(shape, dtype))
    return _attach(fd, shape, dtype), fd


def _attach(fd: int, shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.frombuffer(mmap.mmap(fd, _nbytes(shape, dtype)), dtype=dtype, count=int(np.prod(shape))).reshape(shape)


class ParallelCellPhysics(CellPhysics):
    """The interface of ``CellPhysics``; ``step``, ``step_osc`` and ``apply_parameters`` run in
    ``num_workers`` processes, each owning a contiguous slice of the worlds."""

    def __init__(self, num_worlds: int, cell: CellConfig | None = None, timestep_s: float = 1.0 / 120.0,
                 num_workers: int = 2):
        check_int("num_workers", num_workers, 1, num_worlds)
        self.num_workers = num_workers
        self._fds: list[int] = []
        self._workers: list[tuple[subprocess.Popen, Connection, Connection]] = []
        super().__init__(num_worlds, cell, timestep_s)

    def _allocate(self, shapes) -> tuple[np.ndarray, ...]:
        """The arrays in shared memory; their memfds are passed to the workers, then closed."""
        self._shapes = shapes
        arrays = []
        for shape, dtype in shapes:
            array, fd = _shared_array(shape, dtype)
            arrays.append(array)
            self._fds.append(fd)
        return tuple(arrays)

    def _start_worlds(self) -> None:
        bounds = np.linspace(0, self.num_worlds, self.num_workers + 1).astype(int)
        self.slices = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
        try:
            for part in self.slices:
                self._workers.append(self._spawn(part))
            for k in range(self.num_workers):
                self._reply(k)  # built and attached
        except BaseException:
            self.close()
            raise
        for fd in self._fds:  # the workers hold their own mappings
            os.close(fd)
        self._fds.clear()

    def _spawn(self, part: slice):
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        fds = (cmd_r, rep_w, *self._fds)
        proc = subprocess.Popen([sys.executable, "-m", "omnireset_training.parallel_physics", str(cmd_r), str(rep_w)],
                                pass_fds=fds, stdin=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
        os.close(cmd_r)
        os.close(rep_w)
        commands, replies = Connection(cmd_w, readable=False), Connection(rep_r, writable=False)
        commands.send((self.cell, self.timestep_s, part.start, part.stop, list(zip(self._fds, self._shapes))))
        return proc, commands, replies

    def _reply(self, k: int):
        proc, _, replies = self._workers[k]
        try:
            status, value = replies.recv()
        except (EOFError, OSError):
            raise RuntimeError(f"physics worker {k} (pid {proc.pid}) died (exit code {proc.poll()})") from None
        if status == "error":
            raise RuntimeError(f"physics worker {k} failed:\n{value}")
        return value

    def _run(self, make_message) -> None:
        """Send each worker its message (``make_message(k, slice)``; None: nothing for it), then
        wait for all of them."""
        if not self._workers:
            raise RuntimeError("the physics workers are closed")
        try:
            sent = []
            for k, part in enumerate(self.slices):
                message = make_message(k, part)
                if message is not None:
                    self._workers[k][1].send(message)
                    sent.append(k)
            for k in sent:
                self._reply(k)
        except BaseException:  # interrupted or failed half-way: the replies are out of step, stop
            self.close()
            raise

    # --- CellPhysics, in the workers ---------------------------------------------------------------
    def step(self, arm_torque_Nm: np.ndarray) -> None:
        self._run(lambda k, part: ("step", (arm_torque_Nm[part],)))

    def step_osc(self, target_pos_b_m, target_quat_b_wxyz, kp, kd, gains, substeps) -> None:
        self._run(lambda k, part: ("step_osc", (target_pos_b_m[part], target_quat_b_wxyz[part], kp[part], kd[part],
                                                gains, substeps)))

    def apply_parameters(self, ids: np.ndarray, params: np.ndarray) -> None:
        ids = np.asarray(ids)

        def message(k, part):
            mine = (ids >= part.start) & (ids < part.stop)
            return ("apply_parameters", (ids[mine] - part.start, params[mine])) if mine.any() else None

        self._run(message)

    def close(self) -> None:
        for proc, commands, replies in self._workers:
            try:
                commands.send(("close", ()))
            except OSError:
                pass
            commands.close()
        for proc, _, replies in self._workers:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            replies.close()
        self._workers.clear()
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def _serve(commands: Connection, replies: Connection) -> None:
    cell, timestep_s, start, stop, layout = commands.recv()
    shared = [_attach(fd, shape, dtype) for fd, (shape, dtype) in layout]
    for fd, _ in layout:
        os.close(fd)
    first, second, third = (a[start:stop] for a in shared)
    physics = CellPhysics(stop - start, cell, timestep_s, buffers=(first, second, third))
    replies.send(("ok", None))
    while True:
        try:
            name, args = commands.recv()
        except (EOFError, OSError):  # the parent closed the pipe or died
            return
        if name == "close":
            physics.close()
            return
        try:
            getattr(physics, name)(*args)
        except Exception:
            import traceback

            replies.send(("error", traceback.format_exc()))
            continue
        replies.send(("ok", None))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes us
    if len(sys.argv) != 3:
        sys.exit("usage: python -m omnireset_training.parallel_physics CMD_FD REPLY_FD (started by ParallelCellPhysics)")
    commands = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    try:
        _serve(commands, replies)
    except (EOFError, BrokenPipeError):
        pass


if __name__ == "__main__":
    main()
