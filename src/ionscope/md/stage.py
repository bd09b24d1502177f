"""What an MD stage runs (:class:`Stage`) and the ``stage.json`` that a prepared stage folder
keeps it in.

The MD timestep has one unit, one default and one conversion: it is given in fs
(``Stage.timestep_fs``, default :data:`DEFAULT_TIMESTEP_FS`) and used in ps, the LAMMPS
``metal`` time unit, only through :attr:`Stage.timestep_ps` — for the LAMMPS ``timestep``
line, the step counts of durations, the frame times of the dump (``md_timestep`` of
:func:`ionscope.io.open_trajectory`) and the ns/day rate.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..potential import Potential, potential_from_dict
from ..provenance import jsonable, write_json

DEFAULT_TIMESTEP_FS = 1.0
"""The MD timestep (fs) of every stage, study, validation and exploration that sets none."""

STAGE_FILE = "stage.json"
_POSITIVE = ("timestep_fs", "dump_every_ps", "thermo_every_ps", "restart_every_ps")


@dataclass
class Stage:
    """What to run: segments (see :mod:`ionscope.md.protocols`) and output settings.

    Times are in ps except ``timestep_fs``; ``seed`` seeds the velocities. Segments hold
    plain JSON values (a tuple becomes a list), so a stage equals its own JSON round trip
    (:meth:`to_json`, :meth:`from_json`).
    """

    segments: list[dict]
    timestep_fs: float = DEFAULT_TIMESTEP_FS
    seed: int = 1
    T_init: float | None = None          # velocity seeding (K); default: first segment's T
    dump_every_ps: float = 0.1
    thermo_every_ps: float = 0.1
    restart_every_ps: float = 10.0
    tdamp_ps: float | None = None       # default 100 timesteps
    pdamp_ps: float | None = None       # default 1000 timesteps
    extra: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.segments, self.extra = jsonable(list(self.segments)), list(self.extra)
        for name in _POSITIVE:
            value = getattr(self, name)
            try:
                good = math.isfinite(value) and value > 0
            except TypeError:
                good = False
            if not good:
                raise ValueError(f"Stage {name} must be a positive number, got {value!r}")

    @property
    def timestep_ps(self) -> float:
        """The timestep in ps (LAMMPS metal units); the one conversion from ``timestep_fs``."""
        return self.timestep_fs / 1000.0

    def steps(self, ps: float) -> int:
        """The number of timesteps in ``ps`` (at least one)."""
        return max(1, int(round(ps / self.timestep_ps)))

    def ns_per_day(self, steps: int, seconds: float) -> float:
        """Simulated ns per day of wall time when ``steps`` took ``seconds``."""
        return steps * self.timestep_ps * 1e-3 / max(seconds, 1e-9) * 86400

    def schedule(self) -> list[tuple[dict, int, int]]:
        """(segment, first step, last step) with absolute step numbers."""
        out, step = [], 0
        for segment in self.segments:
            n = 0 if segment["ensemble"] == "minimize" else self.steps(segment["ps"])
            out.append((segment, step, step + n))
            step += n
        return out

    @property
    def total_steps(self) -> int:
        return self.schedule()[-1][2] if self.segments else 0

    def to_json(self) -> dict:
        """The stage as plain JSON values (what ``stage.json`` keeps)."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: dict, source: str | os.PathLike = "stage settings") -> Stage:
        """The stage of :meth:`to_json`; ``source`` names the file in errors."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or "segments" not in data or set(data) - names:
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"{source}: not a stage (expected 'segments' and some of "
                             f"{sorted(names - {'segments'})}, found {found})")
        return cls(**data)

    def differences(self, other: Stage) -> list[str]:
        """The settings in which ``other`` differs from this stage."""
        mine, theirs = self.to_json(), other.to_json()
        return [name for name in mine if mine[name] != theirs[name]]


def save_stage_spec(stage_dir: Path, stage: Stage, potential: Potential, n_frozen: int) -> None:
    """Write ``stage_dir/stage.json``: the stage, the potential and the number of frozen atoms."""
    write_json(stage_dir / STAGE_FILE, {"stage": stage.to_json(), "n_frozen": n_frozen,
                                        "potential": potential.as_dict()})


def repoint_potential(stage_dir: str | os.PathLike, potential: Potential) -> None:
    """Point the prepared stage in ``stage_dir`` at ``potential``: the model it was prepared with,
    found at other paths (the folder was copied to another machine or checkout, and resumes with
    the files there). Anything else that differs (kind, name, species, D3 term, pair style or file
    names; file content, where the saved files are still there) is refused with
    :class:`ValueError`."""
    stage, saved, n_frozen = load_stage_spec(stage_dir)
    if saved.as_dict() == potential.as_dict():
        return
    moved = (_without_paths(saved) == _without_paths(potential)
             and not (all(f.is_file() for f in saved.files) and saved.sha256 != potential.sha256))
    if not moved:
        raise ValueError(
            f"{Path(stage_dir) / STAGE_FILE}: prepared with potential {saved.name!r} "
            f"({', '.join(map(str, saved.files))}), not {potential.name!r} "
            f"({', '.join(map(str, potential.files))}); delete {stage_dir} to start again")
    save_stage_spec(Path(stage_dir), stage, potential, n_frozen)


def _without_paths(potential: Potential) -> dict:
    """``potential.as_dict()`` with every file named by its file name only."""
    record = potential.as_dict()
    for f in potential.files:
        record["pair_style"] = record["pair_style"].replace(str(f), f.name)
        record["coeff_args"] = [a.replace(str(f), f.name) for a in record["coeff_args"]]
    record["files"] = [f.name for f in potential.files]
    return record


def load_stage_spec(stage_dir: str | os.PathLike) -> tuple[Stage, Potential, int]:
    """The stage, potential and number of frozen atoms that ``stage_dir/stage.json`` holds."""
    path = Path(stage_dir) / STAGE_FILE
    spec = json.loads(path.read_text())
    return (Stage.from_json(spec["stage"], source=path), potential_from_dict(spec["potential"]),
            int(spec["n_frozen"]))
