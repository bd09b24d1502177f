"""``ionscope report RUN_DIR``: a static HTML report of a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write an HTML report of a run directory",
                            description="Collect the headline numbers, figures and their CSV data "
                            "below RUN_DIR into RUN_DIR/index.html (static, opens offline).")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--title", default="ionscope report")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..report.html import write_report

    if not args.run_dir.is_dir():
        raise FileNotFoundError(f"{args.run_dir}: no such run directory")
    print(f"report: {write_report(args.run_dir, title=args.title).resolve()}")
    return 0
