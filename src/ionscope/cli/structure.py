"""``ionscope structure``: the standard structure analysis of a structure or trajectory."""

from __future__ import annotations

import argparse
from pathlib import Path

from ase.io import read

from ..report.summaries import StructureSummary, label
from ..report.tables import format_table
from ..workflow.structure import analyse_structure
from .common import add_trajectory_options, open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "structure", help="g(r), S(Q), angles, anion units, Voronoi, q6, XRD of a trajectory",
        description="Structure analysis averaged over frames: partial g(r) and n(r), neutron and "
        "X-ray S(Q), bond angles, thiophosphate units, Voronoi volumes, Steinhardt q6 and XRD "
        "crystallinity. Writes CSV, JSON and a figure into OUT/NAME.")
    add_trajectory_options(parser)
    parser.add_argument("--out", type=Path, default=Path("ionscope-structure"), help="output folder")
    parser.add_argument("--name", help="name of the system (default: file stem)")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--stop", type=int)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--r-max", type=float, default=8.0, help="largest g(r) distance (Å)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.trajectory.suffix.lower() == ".cif":
        source = read(args.trajectory)
    else:
        source = open_from_args(args)
    name = args.name or args.trajectory.stem
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"--name {name!r}: must be a plain folder name inside --out (no '/' or '..')")
    summary = analyse_structure(source, name, args.out, start=args.start, stop=args.stop,
                                step=args.step, progress=True, r_max=args.r_max)
    print(format_table([_flat(summary)], list(_flat(summary))))
    print(f"results in {args.out / name}")
    return 0


def _flat(summary: dict) -> dict:
    """The summary under its display labels, one column per entry of a nested table."""
    flat = {}
    for key, value in summary.items():
        name = label(StructureSummary, key)
        if isinstance(value, dict):
            flat.update({f"{name.split(' ')[0]} {k}": v for k, v in value.items()})
        else:
            flat[name] = value
    return flat
