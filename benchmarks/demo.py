"""Benchmark: wall time of ``ionscope demo`` (the README's main command) on this machine, in
total and per task, from the task markers the pipeline writes. Writes ``demo_results.md``.

    python benchmarks/demo.py [--out /tmp/ionscope-demo]     # with the Python of the install to time
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/ionscope-demo-benchmark"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ionscope", "demo", "--out", str(args.out)], check=True)
    total = time.perf_counter() - start
    rows = []
    for marker in sorted(args.out.rglob("ionscope-task.json")):
        record = json.loads(marker.read_text())
        run = marker.parent / "run.json"
        rate = json.loads(run.read_text()).get("ns_per_day") if run.exists() else None
        rows.append((record["key"], record["kind"], record["seconds"], rate))
    md = sum(r[2] for r in rows if r[1].startswith("md"))
    lines = ["# `ionscope demo` wall time", "", "Command: `python benchmarks/demo.py`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU. Total "
             f"**{total / 60:.1f} min** (LAMMPS {md / 60:.1f} min of it).", "",
             "| task | kind | seconds | ns/day |", "|---|---|---:|---:|"]
    lines += [f"| {k} | {kind} | {s:.1f} | {'' if r is None else f'{r:.3g}'} |" for k, kind, s, r in rows]
    (HERE / "demo_results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
