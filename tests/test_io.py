"""Trajectory reading: LAMMPS dumps of every coordinate style, NPT unwrapping, H5MD, ASE, DeePMD."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ionscope.analysis.base import as_snapshot
from ionscope.io import Frame, TrajectoryFormatError, open_trajectory
from ionscope.io.deepmd_npy import load_system
from ionscope.io.frame import fractional_positions, wrap_positions
from ionscope.io.species import species_indices
from lammps_writer import write_dump


def npt_walk(rng, n_atoms=16, n_frames=120, triclinic=False, step_sigma=0.35):
    """An MD-like NPT history: the barostat rescales positions with the cell (affine), atoms
    then move by a random step and are wrapped into the new cell. Returns wrapped positions,
    image flags, cells and the true accumulated displacement path."""
    base = np.array([[10.0, 0, 0], [1.5, 9.0, 0], [-1.0, 0.8, 11.0]]) if triclinic else np.diag([10.0, 9.0, 11.0])
    cells = [base * (1 + 0.08 * np.sin(2 * np.pi * t / 37)) for t in range(n_frames)]
    if triclinic:
        for t, c in enumerate(cells):
            c[1, 0] += 0.5 * np.sin(2 * np.pi * t / 23)
    frac = rng.uniform(0, 1, (n_atoms, 3))
    images = np.zeros((n_atoms, 3), np.int64)
    wrapped = [frac @ cells[0]]
    true = [frac @ cells[0]]
    imgs = [images.copy()]
    for t in range(1, n_frames):
        affine = frac @ cells[t]  # barostat rescaling keeps fractional coordinates
        step = rng.normal(0, step_sigma, (n_atoms, 3))
        moved = affine + step
        true.append(true[-1] + (affine - wrapped[-1]) + step)
        f = moved @ np.linalg.inv(cells[t])
        crossing = np.floor(f).astype(np.int64)
        frac = f - crossing
        images = images + crossing
        wrapped.append(frac @ cells[t])
        imgs.append(images.copy())
    return np.array(wrapped), np.array(imgs), np.array(cells), np.array(true)


def _columns(ids, types, xyz, names):
    cols = {"id": [ids] * len(xyz), "type": [types] * len(xyz)}
    for k, name in enumerate(names):
        cols[name] = [frame[:, k] for frame in xyz]
    return cols


@pytest.mark.parametrize("triclinic", [False, True])
@pytest.mark.parametrize("style", ["image", "unwrapped", "wrapped", "scaled"])
def test_npt_unwrapping_recovers_true_path(tmp_path, rng, triclinic, style):
    wrapped, images, cells, true = npt_walk(rng, triclinic=triclinic)
    n = wrapped.shape[1]
    ids, types = np.arange(1, n + 1), np.where(np.arange(n) < n // 2, 1, 2)
    if style == "image":
        cols = _columns(ids, types, wrapped, ["x", "y", "z"])
        cols.update(_columns(ids, types, images.astype(float), ["ix", "iy", "iz"]))
        for c in ("ix", "iy", "iz"):
            cols[c] = [v.astype(int) for v in cols[c]]
    elif style == "unwrapped":  # LAMMPS xu = x + ix·L(t): the naive, NPT-biased convention
        naive = wrapped + np.einsum("tai,tij->taj", images, cells)
        cols = _columns(ids, types, naive, ["xu", "yu", "zu"])
    elif style == "wrapped":
        cols = _columns(ids, types, wrapped, ["x", "y", "z"])
    else:
        scaled = np.einsum("tai,tij->taj", wrapped, np.linalg.inv(cells))
        cols = _columns(ids, types, scaled, ["xs", "ys", "zs"])
        cols.update({c: [v.astype(int) for v in vals] for c, vals in
                     _columns(ids, types, images.astype(float), ["ix", "iy", "iz"]).items()
                     if c in ("ix", "iy", "iz")})
    path = tmp_path / "npt.dump"
    write_dump(path, range(0, 10 * len(cells), 10), cells, cols, triclinic=triclinic,
               shuffle_rng=rng)
    traj = open_trajectory(path, type_map=["Li", "S"], md_timestep=0.001)
    unwrapped = traj.unwrapped()
    displacement = unwrapped - unwrapped[0]
    np.testing.assert_allclose(displacement, true - true[0], atol=1e-6)
    np.testing.assert_allclose(traj.times()[:3], [0.0, 0.01, 0.02])
    assert list(traj.symbols[: n // 2]) == ["Li"] * (n // 2)


def test_naive_unwrapping_is_biased_under_npt(rng):
    """The control: x + n·L(t) disagrees with the true path, so the test above discriminates."""
    wrapped, images, cells, true = npt_walk(rng)
    naive = wrapped + np.einsum("tai,tij->taj", images, cells)
    assert np.abs((naive - naive[0]) - (true - true[0])).max() > 0.2


def test_triclinic_box_matches_ase(tmp_path, rng):
    from ase.io import read

    wrapped, images, cells, _ = npt_walk(rng, n_frames=3, triclinic=True)
    n = wrapped.shape[1]
    cols = _columns(np.arange(1, n + 1), np.ones(n, int), wrapped, ["x", "y", "z"])
    path = tmp_path / "tri.dump"
    write_dump(path, [0, 1, 2], cells, cols, triclinic=True)
    ours = open_trajectory(path, type_map=["S"])[2]
    theirs = read(path, index=2, format="lammps-dump-text")
    np.testing.assert_allclose(ours.cell, theirs.cell.array, atol=1e-8)
    np.testing.assert_allclose(ours.positions, theirs.get_positions(), atol=1e-8)


def _simple_dump(tmp_path, n_frames=3, n_atoms=4, name="simple.dump"):
    cells = [np.diag([5.0, 5.0, 5.0])] * n_frames
    xyz = [np.full((n_atoms, 3), 1.0) + f for f in range(n_frames)]
    cols = _columns(np.arange(1, n_atoms + 1), np.ones(n_atoms, int), xyz, ["x", "y", "z"])
    path = tmp_path / name
    write_dump(path, range(n_frames), cells, cols)
    return path


def test_truncated_last_frame_warns_and_keeps_complete_frames(tmp_path):
    path = _simple_dump(tmp_path)
    text = path.read_text()
    path.write_text(text[: len(text) - 30])  # cut inside the last frame's atom lines
    with pytest.warns(UserWarning, match=r"truncated.*2 complete frame"):
        traj = open_trajectory(path, type_map=["S"])
    assert len(traj) == 2
    assert traj[1].positions[0, 0] == pytest.approx(2.0)


def test_unknown_species_names_file_and_type(tmp_path):
    path = _simple_dump(tmp_path)
    with pytest.raises(TrajectoryFormatError, match=r"simple\.dump.*type\(s\) \[1\]"):
        open_trajectory(path, type_map={2: "Li"})
    with pytest.raises(TrajectoryFormatError, match="pass type_map"):
        open_trajectory(path)
    with pytest.raises(TrajectoryFormatError, match="unknown species"):
        open_trajectory(path, type_map=["Xx"])


def test_missing_position_columns(tmp_path):
    cols = {"id": [np.arange(1, 3)], "type": [np.ones(2, int)], "vx": [np.zeros(2)]}
    path = tmp_path / "nopos.dump"
    write_dump(path, [0], [np.eye(3) * 4], cols)
    with pytest.raises(TrajectoryFormatError, match=r"nopos\.dump.*missing position columns"):
        open_trajectory(path, type_map=["S"])


def test_inconsistent_atom_count(tmp_path):
    a = _simple_dump(tmp_path, n_frames=1, n_atoms=4, name="a.dump").read_text()
    b = _simple_dump(tmp_path, n_frames=1, n_atoms=5, name="b.dump").read_text()
    path = tmp_path / "mixed.dump"
    path.write_text(a + b.replace("ITEM: TIMESTEP\n0", "ITEM: TIMESTEP\n1"))
    with pytest.raises(TrajectoryFormatError, match=r"mixed\.dump: frame 1.*inconsistent atom count"):
        open_trajectory(path, type_map=["S"])


def test_timestep_in_fs_is_rejected(tmp_path):
    path = _simple_dump(tmp_path)
    with pytest.raises(ValueError, match="did you give fs"):
        open_trajectory(path, type_map=["S"], md_timestep=0.5)


def test_element_column_and_velocities(tmp_path):
    cols = {"id": [np.array([2, 1])], "element": [np.array(["S", "Li"])],
            "x": [np.array([1.0, 2.0])], "y": [np.zeros(2)], "z": [np.zeros(2)],
            "vx": [np.array([0.5, 0.25])], "vy": [np.zeros(2)], "vz": [np.zeros(2)]}
    path = tmp_path / "el.dump"
    write_dump(path, [0], [np.eye(3) * 6], cols)
    traj = open_trajectory(path)
    assert list(traj.symbols) == ["Li", "S"]  # sorted by id
    np.testing.assert_allclose(traj[0].arrays["velocities"][:, 0], [0.25, 0.5])


def test_h5md_roundtrip_and_chunked_atoms(tmp_path, rng):
    wrapped, images, cells, true = npt_walk(rng, n_atoms=30, n_frames=50, triclinic=True)
    n = wrapped.shape[1]
    cols = _columns(np.arange(1, n + 1), np.arange(n) % 3 + 1, wrapped, ["x", "y", "z"])
    cols.update({c: [v.astype(int) for v in vals] for c, vals in
                 _columns(np.arange(1, n + 1), np.ones(n, int), images.astype(float),
                          ["ix", "iy", "iz"]).items() if c in ("ix", "iy", "iz")})
    dump = tmp_path / "t.dump"
    write_dump(dump, range(0, 500, 10), cells, cols, triclinic=True)
    traj = open_trajectory(dump, type_map=["Li", "P", "S"], md_timestep=0.0005)
    h5 = traj.to_h5md(tmp_path / "t.h5")
    back = open_trajectory(h5)
    assert list(back.symbols) == list(traj.symbols)
    np.testing.assert_allclose(back.unwrapped(), traj.unwrapped(), atol=1e-9)
    np.testing.assert_allclose(back.times(), traj.times())
    np.testing.assert_allclose(back[7].cell, traj[7].cell)
    li = back.indices("Li")
    chunks = list(back.iter_chunks(chunk_frames=16, atoms=li[::-1], step=2))
    stacked = np.concatenate([c.positions for c in chunks])
    np.testing.assert_allclose(stacked, traj.unwrapped(atoms=li[::-1], step=2), atol=1e-9)
    low = traj.to_h5md(tmp_path / "t32.h5", precision="float32")
    assert open_trajectory(low).reader._position.dtype == np.float32

    import h5py

    with h5py.File(h5) as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        assert f["particles/all/box"].attrs["dimension"] == 3
        assert f["particles/all/position/value"].chunks is not None


def test_h5md_readable_by_mdanalysis(tmp_path, rng):
    mda = pytest.importorskip("MDAnalysis")
    pytest.importorskip("h5py")
    wrapped, images, cells, true = npt_walk(rng, n_atoms=10, n_frames=5)
    cols = _columns(np.arange(1, 11), np.ones(10, int), wrapped, ["x", "y", "z"])
    dump = tmp_path / "m.dump"
    write_dump(dump, range(5), cells, cols)
    h5 = open_trajectory(dump, type_map=["S"], md_timestep=0.001).to_h5md(tmp_path / "m.h5")
    u = mda.Universe.empty(10, trajectory=True)
    u.load_new(str(h5), format="H5MD")
    assert len(u.trajectory) == 5
    u.trajectory[3]
    ours = open_trajectory(h5).unwrapped()[3]
    np.testing.assert_allclose(u.atoms.positions, ours, atol=1e-4)
    np.testing.assert_allclose(u.dimensions[:3], np.diag(cells[3]), atol=1e-4)


def test_extxyz_and_ase_traj(tmp_path, rng):
    from ase import Atoms
    from ase.io import write
    from ase.io.trajectory import Trajectory as AseTrajectory

    frames = [Atoms("Li2S", positions=rng.uniform(0, 5, (3, 3)), cell=np.eye(3) * 5, pbc=True)
              for _ in range(4)]
    write(tmp_path / "a.extxyz", frames)
    with AseTrajectory(str(tmp_path / "a.traj"), "w") as handle:
        for atoms in frames:
            handle.write(atoms)
    for name in ("a.extxyz", "a.traj"):
        traj = open_trajectory(tmp_path / name, frame_interval=0.1)
        assert len(traj) == 4 and list(traj.symbols) == ["Li", "Li", "S"]
        np.testing.assert_allclose(traj[2].positions, frames[2].positions)
        np.testing.assert_allclose(traj.times(), [0.0, 0.1, 0.2, 0.3])


def test_deepmd_npy_system(shared_data):
    path = shared_data / "lips-dft" / "glass-iter0-002"
    traj = open_trajectory(path)
    coords = np.load(path / "set.000" / "coord.npy", mmap_mode="r")
    assert len(traj) == len(coords) and traj.n_atoms == coords.shape[1] // 3
    np.testing.assert_allclose(traj[5].positions.ravel(), coords[5])
    assert set(traj.species) == {"Li", "P", "S"}
    assert traj[0].info["energy"] == pytest.approx(float(np.load(path / "set.000/energy.npy")[0]))


def test_missing_file_and_unknown_species_selection(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.dump"):
        open_trajectory(tmp_path / "nothing.dump")
    path = _simple_dump(tmp_path)
    traj = open_trajectory(path, type_map=["S"])
    with pytest.raises(ValueError, match="unknown species"):
        traj.indices("Li")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(traj) == 3


# ----------------------------------------------------------------------------- bad input


def _lammps_h5md(path, wrapped, images, cells, types, species_kind="fixed"):
    """An H5MD file laid out as LAMMPS ``dump h5md … position image species`` writes it
    (dump_h5md.cpp): group ``particles/all``, creator ``lammps``, per-frame orthogonal box
    edges (3-vectors), integer image flags, species as LAMMPS types, no unit attributes."""
    import h5py

    steps = np.arange(len(wrapped)) * 10
    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = np.array([1, 0])
        f.create_group("h5md/creator").attrs["name"] = "lammps"
        part = f.create_group("particles/all")
        box = part.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = np.array([b"periodic"] * 3)
        for group, value in (("position", wrapped), ("image", images.astype(np.int32)),
                             ("box/edges", np.array([np.diag(c) for c in cells]))):
            g = part.create_group(group)
            g["value"] = value
            g["step"] = steps
            g["time"] = steps * 0.001
        if species_kind == "fixed":
            part["species"] = types.astype(np.int32)
        elif species_kind == "series":
            g = part.create_group("species")
            g["value"] = np.tile(types.astype(np.int32), (len(wrapped), 1))
            g["step"], g["time"] = steps, steps * 0.001
        elif species_kind == "changing":
            g = part.create_group("species")
            value = np.tile(types.astype(np.int32), (len(wrapped), 1))
            value[3, 0] = 3
            g["value"] = value
            g["step"], g["time"] = steps, steps * 0.001
        elif species_kind == "text":
            part["species"] = np.array([b"Li" if t == 1 else b"S" for t in types])
    return path


@pytest.mark.parametrize("species_kind", ["fixed", "series"])
def test_lammps_h5md_uses_type_map_and_image_flags(tmp_path, rng, species_kind):
    wrapped, images, cells, true = npt_walk(rng, n_atoms=16, n_frames=60)
    types = np.where(np.arange(16) < 8, 1, 2)
    path = _lammps_h5md(tmp_path / "lmp.h5", wrapped, images, cells, types, species_kind)
    with pytest.raises(TrajectoryFormatError, match=r"lmp\.h5.*LAMMPS types; pass type_map"):
        open_trajectory(path)
    traj = open_trajectory(path, type_map=["Li", "S"])
    assert list(traj.symbols) == ["Li"] * 8 + ["S"] * 8           # not H/He from types 1/2
    assert np.abs(images).max() >= 1                               # the walk crosses the box
    unwrapped = traj.unwrapped()
    np.testing.assert_allclose(unwrapped - unwrapped[0], true - true[0], atol=1e-6)
    np.testing.assert_allclose(traj.times()[:2], [0.0, 0.01])
    back = open_trajectory(traj.to_h5md(tmp_path / "ours.h5"), type_map=["Li", "S"])
    assert list(back.symbols) == list(traj.symbols)   # ours: atomic numbers, type_map ignored
    np.testing.assert_allclose(back.unwrapped(), unwrapped, atol=1e-9)


def test_h5md_string_species_changing_species_and_corrupted_chunk(tmp_path, rng):
    import h5py

    wrapped, images, cells, _ = npt_walk(rng, n_atoms=16, n_frames=6)
    types = np.where(np.arange(16) < 8, 1, 2)
    text = _lammps_h5md(tmp_path / "text.h5", wrapped, images, cells, types, "text")
    assert list(open_trajectory(text).symbols) == ["Li"] * 8 + ["S"] * 8
    changing = _lammps_h5md(tmp_path / "changing.h5", wrapped, images, cells, types, "changing")
    traj = open_trajectory(changing, type_map=["Li", "S", "P"])
    with pytest.raises(TrajectoryFormatError, match=r"changing\.h5: frame 3: the species"):
        traj.unwrapped()
    # an ionscope file with one damaged compressed chunk
    dump = tmp_path / "c.dump"
    cols = _columns(np.arange(1, 17), types, wrapped, ["x", "y", "z"])
    write_dump(dump, range(6), cells, cols)
    h5 = open_trajectory(dump, type_map=["Li", "S"]).to_h5md(tmp_path / "damaged.h5")
    with h5py.File(h5) as f:
        info = f["particles/all/position/value"].id.get_chunk_info(0)
    with open(h5, "r+b") as handle:
        handle.seek(info.byte_offset + info.size // 3)
        handle.write(b"\xff" * max(8, info.size // 3))
    with pytest.raises(TrajectoryFormatError, match=r"damaged\.h5: frames? 0.*cannot read"):
        open_trajectory(h5).unwrapped()


def test_h5md_of_mdanalysis_and_znh5md():
    """The H5MD examples that MDAnalysis ships: ZnH5MD (particles/atoms, per-frame float species,
    times in fs) is read and agrees with MDAnalysis; MDAnalysis's own files carry no species and
    are refused with the layout that is read."""
    mda = pytest.importorskip("MDAnalysis")
    data = pytest.importorskip("MDAnalysisTests.datafiles")
    traj = open_trajectory(data.H5MD_energy)
    assert traj.n_atoms == 108 and traj.species == ["Cu"]
    u = mda.Universe.empty(108, trajectory=True)
    u.load_new(data.H5MD_energy, format="H5MD")
    assert len(u.trajectory) == len(traj) == 20
    u.trajectory[5]
    np.testing.assert_allclose(traj[5].positions, u.atoms.positions, atol=1e-4)
    np.testing.assert_allclose(traj[5].cell, u.trajectory.ts.triclinic_dimensions, atol=1e-4)
    np.testing.assert_allclose(traj.times(), [ts.time for ts in u.trajectory], atol=1e-9)
    with pytest.raises(TrajectoryFormatError, match=r"cobrotoxin\.h5md.*no species.*ionscope reads H5MD"):
        open_trajectory(data.H5MD_xvf)


def test_h5md_units_are_converted(tmp_path, rng):
    import h5py

    wrapped, images, cells, _ = npt_walk(rng, n_atoms=16, n_frames=4)
    types = np.where(np.arange(16) < 8, 1, 2)
    path = _lammps_h5md(tmp_path / "nm.h5", wrapped / 10, images, cells / 10, types, "text")
    with h5py.File(path, "r+") as f:
        part = f["particles/all"]
        part["position/value"].attrs["unit"] = "nm"
        part["box/edges/value"].attrs["unit"] = "nm"
        part["position/time"].attrs["unit"] = "fs"
    traj = open_trajectory(path)
    np.testing.assert_allclose(traj[2].positions, wrapped[2])
    np.testing.assert_allclose(traj[2].cell, cells[2])
    np.testing.assert_allclose(traj.times(), np.arange(4) * 10 * 0.001 * 1e-3)
    traj.reader.close()
    with h5py.File(path, "r+") as f:
        f["particles/all/position/value"].attrs["unit"] = "bohr"
    with pytest.raises(TrajectoryFormatError, match=r"nm\.h5.*unsupported length unit 'bohr'"):
        open_trajectory(path)


def test_compressed_dump_reads_like_the_plain_one(tmp_path, rng):
    import bz2
    import gzip

    wrapped, images, cells, true = npt_walk(rng, n_atoms=12, n_frames=30)
    cols = _columns(np.arange(1, 13), np.arange(12) % 2 + 1, wrapped, ["x", "y", "z"])
    cols.update({c: [v.astype(int) for v in vals] for c, vals in
                 _columns(np.arange(1, 13), np.ones(12, int), images.astype(float),
                          ["ix", "iy", "iz"]).items() if c in ("ix", "iy", "iz")})
    plain = tmp_path / "run.lammpstrj"
    write_dump(plain, range(100, 130), cells, cols, origin=(-3.0, 1.0, 2.0))
    ref = open_trajectory(plain, type_map=["Li", "S"], md_timestep=0.001)
    for name, pack in (("run.lammpstrj.gz", gzip.compress), ("run.lammpstrj.bz2", bz2.compress),
                       ("run.dump.bz2", bz2.compress)):
        path = tmp_path / name
        path.write_bytes(pack(plain.read_bytes()))
        traj = open_trajectory(path, type_map=["Li", "S"], md_timestep=0.001)
        assert traj.reader.format == "lammps-dump" and list(traj.symbols) == list(ref.symbols)
        np.testing.assert_allclose(traj.unwrapped(), ref.unwrapped())
        np.testing.assert_allclose(traj.times(), ref.times())
        np.testing.assert_allclose(traj[29].origin, [-3.0, 1.0, 2.0])
        np.testing.assert_allclose(traj.unwrapped()[-1] - traj.unwrapped()[0], true[-1] - true[0], atol=1e-6)


@pytest.mark.filterwarnings("ignore::UserWarning:MDAnalysis")
def test_mdanalysis_lammps_dumps(tmp_path):
    """MDAnalysisTests' dumps: single frames without a final newline, bz2-compressed and image
    flags, against MDAnalysis's own reader."""
    mda = pytest.importorskip("MDAnalysis")
    data = pytest.importorskip("MDAnalysisTests.datafiles")
    for name, type_map in (("LAMMPSDUMP_triclinic", ["Na", "Al", "Si", "O"]),
                           ("LAMMPSDUMP_allinfo", None), ("LAMMPSDUMP_nomass_elemx", None)):
        path = getattr(data, name)
        assert not open(path, "rb").read().endswith(b"\n")
        traj = open_trajectory(path, type_map=type_map)
        u = mda.Universe(path, format="LAMMPSDUMP", topology_format="LAMMPSDUMP") \
            if name != "LAMMPSDUMP_triclinic" else None
        assert len(traj) == 1
        if u is not None:  # MDAnalysis shifts the box origin to zero
            np.testing.assert_allclose(traj[0].positions - traj[0].origin, u.atoms.positions, atol=1e-4)
    # a multi-frame dump whose last line has no newline keeps its last, complete frame
    import bz2

    text = bz2.decompress(open(data.LAMMPSDUMP, "rb").read()).decode().rstrip("\n")
    path = tmp_path / "wat.lammpstrj"
    path.write_text(text)
    assert len(open_trajectory(path, type_map=["O", "H"])) == 3
    wat = open_trajectory(data.LAMMPSDUMP, type_map=["O", "H"], md_timestep=0.001)
    u = mda.Universe(data.LAMMPSDUMP, format="LAMMPSDUMP", topology_format="LAMMPSDUMP")
    assert len(wat) == len(u.trajectory) == 3
    for k, ts in enumerate(u.trajectory):
        assert wat[k].step == ts.data["step"]
        np.testing.assert_allclose(wat[k].cell.diagonal(), ts.dimensions[:3], atol=1e-4)
    # positions: frame 0 (box origin 0; MDAnalysis shifts scaled coordinates of a box whose
    # origin is not 0 by that origin once more)
    np.testing.assert_allclose(wat[0].positions, u.trajectory[0].positions, atol=1e-4)
    # image flags: our NPT-correct unwrapping equals x + n·L for a fixed box
    img = open_trajectory(data.LAMMPSDUMP_image_vf, type_map=["C", "O", "H"])
    u = mda.Universe(data.LAMMPS_image_vf, data.LAMMPSDUMP_image_vf, format="LAMMPSDUMP",
                     unwrap_images=True)
    for k, ts in enumerate(u.trajectory):
        np.testing.assert_allclose(img.unwrapped()[k] - img[k].origin, ts.positions, atol=1e-4)
    assert len(open_trajectory(data.LAMMPSDUMP_non_linear, type_map=["H"])) == 11  # *.dump.bz2


@pytest.mark.parametrize("value", [0.0, -0.0005, float("nan"), float("inf")])
def test_bad_timestep_or_frame_interval_is_refused(tmp_path, value):
    path = _simple_dump(tmp_path)
    with pytest.raises(ValueError, match="must be a positive number of ps"):
        open_trajectory(path, type_map=["S"], md_timestep=value)
    with pytest.raises(ValueError, match="must be a positive number of ps"):
        open_trajectory(path, type_map=["S"], frame_interval=value)


def test_non_finite_coordinates_are_refused(tmp_path):
    path = _simple_dump(tmp_path)
    path.write_text(path.read_text().replace("2.0000000000 2.0000000000 2.0000000000",
                                             "2.0000000000 nan 2.0000000000", 1))
    traj = open_trajectory(path, type_map=["S"])
    with pytest.raises(TrajectoryFormatError, match=r"simple\.dump: frame 1: non-finite.*\[0\]"):
        traj.unwrapped()
    with pytest.raises(TrajectoryFormatError, match="non-finite"):
        traj.to_h5md(tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


def test_type_map_with_blanks_and_bad_symbols(tmp_path):
    path = _simple_dump(tmp_path)
    assert list(open_trajectory(path, type_map=[" S "]).symbols) == ["S"] * 4
    with pytest.raises(TrajectoryFormatError, match=r"type_map: unknown species \['Sx'\]"):
        open_trajectory(path, type_map=["Sx"])


def test_to_h5md_never_overwrites_the_input_or_a_foreign_file(tmp_path):
    path = _simple_dump(tmp_path)
    traj = open_trajectory(path, type_map=["S"])
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"simple\.dump: is the input trajectory"):
        traj.to_h5md(path, force=True)
    assert path.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("keep me")
    with pytest.raises(ValueError, match=r"notes\.txt: exists and is not an ionscope H5MD"):
        traj.to_h5md(other)
    assert other.read_text() == "keep me"
    traj.to_h5md(other, force=True)
    h5 = traj.to_h5md(tmp_path / "a.h5")
    traj.to_h5md(h5)                                   # an ionscope file is replaced
    with pytest.raises(ValueError, match="is a directory"):
        traj.to_h5md(tmp_path)


# ----------------------------------------------------------------------------- shared helpers


def test_wrap_positions_matches_ase_for_triclinic_and_per_frame_cells(rng):
    """One helper folds positions into the cell for every reader and analysis: it agrees with
    ASE for a triclinic cell, frame by frame for a stack of cells, and keeps a box origin."""
    from ase import Atoms

    cell = np.array([[10.0, 0, 0], [3.0, 9.0, 0], [-2.0, 1.5, 11.0]])
    pos = rng.uniform(-30, 30, (50, 3))
    ase_atoms = Atoms("Li50", positions=pos, cell=cell, pbc=True)
    np.testing.assert_allclose(wrap_positions(pos, cell), ase_atoms.get_positions(wrap=True), atol=1e-9)
    np.testing.assert_allclose(fractional_positions(pos, cell, wrap=False) @ cell, pos, atol=1e-9)
    cells = cell * rng.uniform(0.9, 1.1, (4, 1, 1))
    stack = rng.uniform(-30, 30, (4, 50, 3))
    frac = fractional_positions(stack, cells)
    assert frac.min() >= 0 and frac.max() < 1
    for k in range(4):
        np.testing.assert_allclose(wrap_positions(stack, cells)[k], wrap_positions(stack[k], cells[k]))
    origin = np.array([-5.0, 2.0, 1.0])
    frame = Frame(positions=pos, cell=cell, origin=origin)
    inside = fractional_positions(frame.wrapped_positions(), cell, origin, wrap=False)
    assert inside.min() >= 0 and inside.max() < 1
    np.testing.assert_allclose(frame.wrapped_positions(), wrap_positions(pos - origin, cell) + origin, atol=1e-9)
    np.testing.assert_allclose(as_snapshot((["Li"] * 50, pos, cell)).positions, wrap_positions(pos, cell))


def test_species_selection_is_shared_by_trajectories_and_structures(tmp_path):
    cols = _columns(np.arange(1, 5), np.array([1, 2, 1, 2]), [np.full((4, 3), 1.0)], ["x", "y", "z"])
    path = tmp_path / "simple.dump"
    write_dump(path, [0], [np.eye(3) * 5.0], cols)
    traj = open_trajectory(path, type_map=["S", "Li"])
    snap = as_snapshot(traj[0], traj.symbols)
    for species in ("Li", ["S", "Li"], None):
        np.testing.assert_array_equal(traj.indices(species), snap.indices(species))
        np.testing.assert_array_equal(traj.indices(species),
                                      species_indices(traj.symbols, species, "x"))
    with pytest.raises(ValueError, match=r"simple\.dump: unknown species \['Na'\]; it has"):
        traj.indices(["Na", "Li"])
    with pytest.raises(ValueError, match=r"the structure: unknown species \['Na'\]; it has"):
        snap.indices("Na")


def _npy_system(root, n_atoms=3, frames=(2, 3), energy_2d=(True, False)):
    root.mkdir()
    (root / "type.raw").write_text("0\n1\n1\n"[: 2 * n_atoms])
    (root / "type_map.raw").write_text("Li\nS\n")
    rng = np.random.default_rng(1)
    for k, (n, e2) in enumerate(zip(frames, energy_2d)):
        s = root / f"set.{k:03d}"
        s.mkdir()
        np.save(s / "coord.npy", rng.uniform(0, 5, (n, 3 * n_atoms)))
        np.save(s / "box.npy", np.tile((np.eye(3) * 5).ravel(), (n, 1)))
        np.save(s / "energy.npy", rng.normal(size=(n, 1) if e2 else n))
        np.save(s / "force.npy", rng.normal(size=(n, 3 * n_atoms)))
        np.save(s / "virial.npy", rng.normal(size=(n, 9)))
    return root


def test_one_deepmd_npy_reader_for_trajectories_and_potentials(tmp_path):
    """``load_system`` (potential fitting and tests) and the trajectory reader are one reader:
    the same frames over every set, energies stored as (n, 1) or (n,), and clear errors."""
    import ionscope.potential.deepmd as potential_deepmd

    assert potential_deepmd.load_system is load_system
    system = _npy_system(tmp_path / "sys")
    data = load_system(system)
    traj = open_trajectory(system)
    assert len(traj) == 5 and data["coord"].shape == (5, 9) and data["energy"].shape == (5,)
    assert data["type_map"] == ["Li", "S"] and data["types"].tolist() == [0, 1, 1]
    for k in range(5):
        np.testing.assert_allclose(traj[k].positions.ravel(), data["coord"][k])
        assert traj[k].info["energy"] == data["energy"][k]
        np.testing.assert_allclose(traj[k].arrays["forces"].ravel(), data["force"][k])
    assert data["virial"].shape == (5, 9)
    np.save(system / "set.001" / "coord.npy", np.zeros((3, 6)))
    with pytest.raises(TrajectoryFormatError, match=r"set\.001/coord\.npy: 6 values per frame, expected 9, 2 atoms per frame, type\.raw has 3"):
        load_system(system)
    bare = _npy_system(tmp_path / "bare", frames=(2,), energy_2d=(False,))
    (bare / "set.000" / "energy.npy").unlink()
    assert len(open_trajectory(bare)) == 2
    with pytest.raises(TrajectoryFormatError, match="bare: not a labelled system"):
        load_system(bare)


def test_h5md_frames_are_exact_under_npt_and_the_earlier_layout_warns(tmp_path, rng):
    """ionscope's H5MD stores each frame as written, with its image flags, so a frame read back
    is its geometry under a changing box too (the earlier layout kept TOR-unwrapped positions
    only: a 64-atom NPT melt read back with a 0.41 Å P–S contact LAMMPS never had). The
    time-continuous positions summed from the flags are the dump's, the TOR path of
    Bullerjahn et al. A file of the earlier layout still reads, and warns."""
    import h5py

    from ionscope.io.h5md import NPTGeometryWarning

    wrapped, images, cells, true = npt_walk(rng, n_frames=60, step_sigma=0.8)
    n = wrapped.shape[1]
    cols = _columns(np.arange(1, n + 1), np.ones(n, int), wrapped, ["x", "y", "z"])
    cols.update({c: [v.astype(int) for v in vals] for c, vals in
                 _columns(np.arange(1, n + 1), np.ones(n, int), images.astype(float),
                          ["ix", "iy", "iz"]).items() if c in ("ix", "iy", "iz")})
    write_dump(tmp_path / "npt.dump", range(len(cells)), cells, cols)
    dump = open_trajectory(tmp_path / "npt.dump", type_map=["Li"], md_timestep=0.001)
    h5 = open_trajectory(dump.to_h5md(tmp_path / "npt.h5"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NPTGeometryWarning)
        for k in (1, 17, len(cells) - 1):
            np.testing.assert_allclose(wrap_positions(h5[k].positions, cells[k]),
                                       wrap_positions(wrapped[k], cells[k]), atol=1e-9)
        tor = h5.unwrapped()
    np.testing.assert_allclose(tor, dump.unwrapped(), atol=1e-9)
    np.testing.assert_allclose(tor - tor[0], true - true[0], atol=1e-6)
    li = h5.indices("Li")
    np.testing.assert_allclose(h5.unwrapped(atoms=li[::-1][:5], start=7, step=3),
                               dump.unwrapped(atoms=li[::-1][:5], start=7, step=3), atol=1e-9)
    # the earlier layout: continuous positions, no flags
    h5.reader.close()
    with h5py.File(tmp_path / "npt.h5", "r+") as f:
        del f["particles/all/image"]
        f["particles/all/position/value"][...] = tor
        f["parameters/ionscope"].attrs["positions"] = "unwrapped"
    old = open_trajectory(tmp_path / "npt.h5")
    np.testing.assert_allclose(old.unwrapped(), tor, atol=1e-9)
    old[0]                                                     # the first frame is exact: no warning
    with pytest.warns(NPTGeometryWarning, match=r"npt\.h5: positions stored unwrapped under a changing box"):
        folded = wrap_positions(old[len(cells) - 1].positions, cells[-1])
    off = np.abs(fractional_positions(folded - wrap_positions(wrapped[-1], cells[-1]), cells[-1],
                                      wrap=False))
    assert (np.minimum(off % 1, 1 - off % 1) > 1e-3).any()   # misplaced atoms: the warning is due