"""``ionscope demo``: the main job on bundled inputs (see ionscope.workflow.demo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..workflow.demo import run_demo


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo", help="run the demonstration study (MD, analyses, report) on bundled inputs",
        description="A complete small study on the bundled fast potential: beta-Li3PS4 and a "
        "melt-quenched 75Li2S-25P2S5 glass, MD at three temperatures, structure, transport and "
        "softness analyses, and an HTML report. About 4 minutes on 2 cores.")
    parser.add_argument("--out", type=Path, default=Path("ionscope-demo"), help="output folder")
    parser.add_argument("--study", type=Path, help="run this study file instead of the demo's")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    report = run_demo(args.out, args.study)
    print(f"\nreport: {report.resolve()}")
    print(f"paper-scale study file: {(args.out / 'study-paper.toml').resolve()}")
    return 0
