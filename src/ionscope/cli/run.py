"""``ionscope run study.toml``: every simulation and figure of a study, in dependency order."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..workflow.run import run_study
from ..workflow.study import load_study
from .common import positive_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run a study file (systems, MD, analyses, report)",
                            description="Execute the stages of a TOML study file in dependency "
                            "order. Finished stages whose inputs and parameters are unchanged are "
                            "skipped; an interrupted MD stage resumes from its restart file.")
    parser.add_argument("study", type=Path, help="the study file (TOML)")
    parser.add_argument("--out", type=Path, help="run directory (default: the study file's name)")
    parser.add_argument("--dispatch", choices=["local", "dask", "dpdispatcher"],
                        help="override the study's [dispatch] backend")
    parser.add_argument("--workers", type=positive_int, help="parallel MD stages")
    parser.add_argument("--check", action="store_true", help="validate the study file and stop")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    study = load_study(args.study)
    if args.dispatch or args.workers:
        dispatch = study.dispatch.model_copy(update={k: v for k, v in
                                                     (("backend", args.dispatch), ("workers", args.workers)) if v})
        study = study.model_copy(update={"dispatch": dispatch})
    if args.check:
        print(f"{args.study}: valid ({len(study.systems)} systems, {len(study.md.temperatures)} temperatures)")
        return 0
    report = run_study(study, args.out or Path(args.study.stem))
    print(f"report: {report.resolve()}")
    return 0
