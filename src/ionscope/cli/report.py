"""``ionscope report RUN_DIR``: a static HTML report of a run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..report.html import check_overwrite, write_report
from ..workflow.layout import StudyLayout
from ..workflow.run import write_study_report
from ..workflow.study import Study


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write an HTML report of a run directory",
                            description="For a study run (RUN_DIR/study.json, from ionscope run): "
                            "rebuild RUN_DIR/report (figures, CSV data, summary.json, index.html) "
                            "from the finished tasks. Otherwise collect the headline numbers, "
                            "figures and CSV data below RUN_DIR into RUN_DIR/index.html.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--title", default="ionscope report")
    parser.add_argument("--force", action="store_true",
                        help="replace an index.html that ionscope did not write")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.run_dir.is_dir():
        raise FileNotFoundError(f"{args.run_dir}: no such run directory")
    study_record = args.run_dir / "study.json"
    if study_record.exists():
        study = Study.model_validate(json.loads(study_record.read_text())["study"])
        out = StudyLayout(study, args.run_dir).folder(StudyLayout.REPORT)
        check_overwrite(out / "index.html", args.force)
        page = write_study_report(args.run_dir, study, out)
    else:
        page = write_report(args.run_dir, title=args.title, force=args.force)
    print(f"report: {page.resolve()}")
    return 0
