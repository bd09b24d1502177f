"""``ionscope demo``: the main job on bundled inputs (see ionscope.workflow.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="run the demonstration study on the bundled structures",
        description="Structure analysis of the bundled beta-Li3PS4 crystal and Li-P-S glass "
        "snapshot: prints a table of headline numbers and writes CSV files and figures.")
    parser.add_argument("--out", type=Path, default=Path("ionscope-demo"), help="output folder")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..workflow.demo import run_demo

    run_demo(args.out)
    return 0
