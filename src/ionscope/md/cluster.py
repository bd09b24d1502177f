"""Job scripts for running a prepared stage on a cluster (SLURM), on CPUs with MPI or on GPUs.

A stage prepared with :func:`ionscope.md.prepare_stage` is self-contained: the job only runs
``ionscope md run STAGE_DIR --mpi N``, which resumes from the newest restart file when the job
was pre-empted or hit its time limit, so the same script can simply be resubmitted.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

_SLURM_TIME = re.compile(r"\d+(:\d{1,2}){0,2}|\d+-\d{1,2}(:\d{1,2}){0,2}")


def slurm_script(stage_dir: str | Path, ranks: int = 1, gpus: int = 0, time: str = "24:00:00",
                 partition: str | None = None, account: str | None = None,
                 setup: tuple[str, ...] = (), job_name: str | None = None,
                 cpus_per_rank: int = 1) -> str:
    """An ``sbatch`` script for one stage. With ``gpus``, one MPI rank per GPU (DeePMD-kit built
    with CUDA uses the GPU its rank sees); ``setup`` lines (module loads, environment activation)
    run before ionscope."""
    stage_dir = Path(stage_dir).resolve()
    if ranks < 1 or gpus < 0 or cpus_per_rank < 1:
        raise ValueError(f"ranks and cpus_per_rank must be ≥ 1 and gpus ≥ 0, got ranks={ranks}, "
                         f"gpus={gpus}, cpus_per_rank={cpus_per_rank}")
    if not _SLURM_TIME.fullmatch(time):
        raise ValueError(f"time {time!r} is not a SLURM time limit (MM, MM:SS, HH:MM:SS, D-HH, "
                         "D-HH:MM or D-HH:MM:SS)")
    if gpus and ranks != gpus:
        raise ValueError(f"use one MPI rank per GPU: ranks={ranks}, gpus={gpus}")
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job_name or stage_dir.name}",
             f"#SBATCH --ntasks={ranks}", f"#SBATCH --cpus-per-task={cpus_per_rank}",
             f"#SBATCH --time={time}", f"#SBATCH --output={stage_dir}/slurm-%j.out"]
    if gpus:
        lines.append("#SBATCH --gpus-per-task=1")
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if account:
        lines.append(f"#SBATCH --account={account}")
    lines += ["set -euo pipefail", *setup,
              f"export OMP_NUM_THREADS={cpus_per_rank}",
              f"export DP_INTRA_OP_PARALLELISM_THREADS={cpus_per_rank}",
              "export DP_INTER_OP_PARALLELISM_THREADS=1",
              f"ionscope md run {shlex.quote(str(stage_dir))} --mpi {ranks}"]
    return "\n".join(lines) + "\n"
