"""``ionscope md run|slurm``: run or resume a prepared MD stage, or write its cluster job."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..md import run_stage
from ..md.cluster import slurm_script
from ..provenance import atomic_write
from .common import count, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("md", help="run, resume or submit prepared LAMMPS stages",
                            description="Run or resume MD stages prepared by ionscope "
                            "(ionscope.md.prepare_stage), locally or through SLURM.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run or resume a stage directory",
                             description="Run a prepared stage; resumes from its newest restart "
                             "file after an interruption; does nothing if it has finished.")
    run.add_argument("stage_dir", type=Path)
    run.add_argument("--mpi", type=positive_int, default=1, help="MPI ranks (mpirun -np N)")
    run.set_defaults(func=_run)
    slurm = actions.add_parser("slurm", help="write an sbatch script for a stage",
                               description="Write STAGE_DIR/job.sbatch for SLURM (CPU ranks or "
                               "one rank per GPU).")
    slurm.add_argument("stage_dir", type=Path)
    slurm.add_argument("--ranks", type=positive_int, default=1)
    slurm.add_argument("--gpus", type=count, default=0)
    slurm.add_argument("--time", default="24:00:00", help="SLURM time limit: MM, MM:SS, HH:MM:SS, "
                       "D-HH, D-HH:MM or D-HH:MM:SS")
    slurm.add_argument("--partition")
    slurm.add_argument("--account")
    slurm.add_argument("--setup", action="append", default=[],
                       help="a shell line to run first (module load ..., source venv/bin/activate)")
    slurm.set_defaults(func=_slurm)


def _run(args: argparse.Namespace) -> int:
    if not args.stage_dir.is_dir():
        raise FileNotFoundError(f"{args.stage_dir}: not a stage directory")
    if not any((args.stage_dir / name).exists() for name in ("stage.json", "run.json")):
        raise FileNotFoundError(f"{args.stage_dir}: no stage.json (prepare the stage first)")
    result = run_stage(args.stage_dir, mpi_ranks=args.mpi)
    rate = result.record.get("ns_per_day")
    print(f"{args.stage_dir}: complete ({result.record['n_atoms']} atoms"
          f"{f', {rate:.3g} ns/day' if rate else ''})")
    return 0


def _slurm(args: argparse.Namespace) -> int:
    if not (args.stage_dir / "stage.json").exists():
        raise FileNotFoundError(f"{args.stage_dir}: no stage.json (prepare the stage first)")
    text = slurm_script(args.stage_dir, ranks=args.ranks, gpus=args.gpus, time=args.time,
                        partition=args.partition, account=args.account, setup=tuple(args.setup))
    with atomic_write(args.stage_dir / "job.sbatch") as handle:
        handle.write(text)
    print(f"wrote {args.stage_dir / 'job.sbatch'}; submit with: sbatch {args.stage_dir / 'job.sbatch'}")
    return 0
