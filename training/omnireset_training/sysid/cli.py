"""Subcommands of ``omnireset-train`` for system identification::

    sysid-record   FILE   an 8 s Cartesian chirp through the core's 500 Hz loop on the twin -> FILE.npz/.json
    sysid-identify FILE   CMA-ES fit of the joint dynamics to that recording -> OUT/identified_dynamics.yaml

``sysid-record --dynamics D`` records from a twin whose joints follow D instead of cell.yaml (a
stand-in for a robot whose dynamics are unknown to the fit). ``load_cell_config(..., dynamics=)``
and ``--dynamics`` everywhere read the identified file.
"""
from __future__ import annotations

import argparse

from omnireset_core.control.chirp import ChirpConfig
from omnireset_core.control.config import load_controller_config
from omnireset_core.control.loop import ControlLoop
from omnireset_sim.config import config_dir, load_cell_config


def _record(args) -> int:
    from omnireset_sim.twin import TwinCell, TwinRobot
    from omnireset_training.sysid.recording import record_chirp

    cell = load_cell_config(args.cell_config, dynamics=args.dynamics)
    controller = load_controller_config(args.controller_config or config_dir() / "controller.yaml")
    twin = TwinCell(cell)
    robot = TwinRobot(twin)
    robot.connect()
    try:
        loop = ControlLoop(robot, twin.kinematics, controller.gains, controller.safety, rate_hz=1.0 / robot.control_period_s,
                           clock=lambda: twin.time_s)
        source = "twin" if args.dynamics is None else f"twin with {args.dynamics}"
        recording = record_chirp(loop, ChirpConfig(duration_s=args.duration), source)
    finally:
        robot.disconnect()
    path = recording.save(args.file)
    print(f"{recording.ticks} ticks at {recording.rate_hz:g} Hz -> {path}")
    return 0


def _identify(args) -> int:
    from omnireset_training.sysid.identify import identify, plot_fit
    from omnireset_core.control.recording import Recording

    recording = Recording.load(args.file)
    cell = load_cell_config(args.cell_config)
    result = identify(recording, cell, args.out, generations=args.generations, population=args.population,
                      seed=args.seed, progress=not args.no_progress)
    plot_fit(recording, cell, result, f"{args.out}/sysid_fit.png")
    print(f"replay RMSE {result.start_rmse_deg:.3f} deg (cell.yaml) -> {result.best_rmse_deg:.3f} deg "
          f"after {result.generations} generations -> {args.out}/identified_dynamics.yaml, sysid_fit.png")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("sysid-record", help="record a chirp through the 500 Hz loop on the twin")
    p.add_argument("file", help="output recording (.npz, with a .json manifest beside it)")
    p.add_argument("--cell-config", help="cell YAML (default: config/cell.yaml)")
    p.add_argument("--dynamics", help="joint dynamics of the recorded twin (an 'arm:' YAML section)")
    p.add_argument("--controller-config", help="controller YAML (default: config/controller.yaml)")
    p.add_argument("--duration", type=float, default=ChirpConfig.duration_s, help="chirp length in s (default 8)")
    p.set_defaults(func=_record)
    p = subparsers.add_parser("sysid-identify", help="CMA-ES fit of the joint dynamics to a chirp recording")
    p.add_argument("file", help="recording from sysid-record (.npz)")
    p.add_argument("--out", required=True, help="folder: fit state (resumable), identified_dynamics.yaml, plot")
    p.add_argument("--cell-config", help="cell YAML whose dynamics the fit starts from")
    p.add_argument("--generations", type=_positive, default=40)
    p.add_argument("--population", type=_positive, default=16, help="candidates per generation (paper: 512)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_identify)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
