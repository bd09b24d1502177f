"""``ionscope convert``: any supported trajectory to H5MD with NPT-correct unwrapped positions."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_trajectory_options, open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert", help="convert a trajectory to H5MD (unwrapped, chunked, compressed)",
        description="Read a trajectory, unwrap it the NPT-correct way and write H5MD, the format "
        "every ionscope analysis reads fastest.")
    add_trajectory_options(parser)
    parser.add_argument("output", type=Path, help="output .h5 file")
    parser.add_argument("--precision", choices=("float64", "float32"), default="float64")
    parser.add_argument("--force", action="store_true",
                        help="overwrite OUTPUT even if it is not an ionscope H5MD file (never the input)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    traj = open_from_args(args)
    path = traj.to_h5md(args.output, precision=args.precision, progress=True, force=args.force)
    print(f"wrote {len(traj)} frames of {traj.n_atoms} atoms to {path}")
    return 0
