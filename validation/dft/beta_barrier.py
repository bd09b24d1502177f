"""Is nnsnap's Li migration in β-Li3PS4 as easy as PBE-D3's? A hop path, nnsnap against CP2K.

nnsnap gives β-Li3PS4 E_a = 0.24 eV where Chen et al. simulated 0.31–0.40 eV on the same level
of theory; its Li defect energies agree with PBE-D3 (``beta_defects.py``), so what is left is
the barrier between them. Measured on the 64-atom cell of ``beta_defects.py``:

1. ``path``: a climbing-image NEB in nnsnap (ASE, the LAMMPS pair style) from the relaxed crystal
   (``perfect``) to one of its quenched MD minima (default ``600K-frame2``: four Li moved by
   2.8–3.6 Å, two of them off every crystal site), the framework's drift taken off the end
   point. Writes ``path.extxyz`` (the images, with nnsnap's energies) and prints the profile.
2. ``ionscope dft label WORK/path.extxyz --format ase --preset lips-pbe-d3 --mpi 2 --out LABELS``
   — CP2K PBE-D3 single points of the images (Γ only, as the data and ``beta_defects.py``).
3. ``compare``: the energy profile along the path by nnsnap and by CP2K (relative to the first
   image), written to ``validation/dft/beta-barrier.csv``. The highest DFT energy along
   nnsnap's path bounds PBE-D3's own barrier from above, up to the end points' relaxation in
   PBE-D3 (its forces there are 0.07–0.09 eV/Å RMS); the RMS force perpendicular to the path,
   also written, says how far PBE-D3's path lies from nnsnap's.

    python validation/dft/beta_barrier.py path validation/dft/beta-barrier
    ionscope dft label validation/dft/beta-barrier/path.extxyz --format ase --preset lips-pbe-d3 \\
        --mpi 2 --out validation/dft/beta-barrier/labels --workdir runs/beta-barrier/cp2k
    python validation/dft/beta_barrier.py compare validation/dft/beta-barrier validation/dft/beta-barrier/labels

``validation/dft/beta-barrier/`` keeps the path (``path.extxyz``, ``neb.log``) and the labels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.geometry import find_mic
from ase.io import read, write
from ase.mep import NEB
from ase.optimize import FIRE

from ionscope.io.tables import write_csv
from ionscope.potential import bundled_potential
from ionscope.potential.lammps_eval import primed_calculator

from beta_defects import framework_drift     # this folder's script

HERE = Path(__file__).resolve().parent
MINIMA = HERE / "beta-defect-labels" / "chosen.extxyz"


def _unwrapped_end(start, end):
    """``end`` with every atom at its minimum image nearest its ``start`` position and the mean
    displacement of the P atoms (the framework's drift in MD) taken off."""
    step = find_mic(end.positions - start.positions, start.cell)[0]
    out = end.copy()
    out.positions = start.positions + step - framework_drift(end, start)
    return out


def path(work: Path, end_name: str, n_images: int, fmax: float) -> None:
    work.mkdir(parents=True, exist_ok=True)
    minima = {m.info["name"]: m for m in read(MINIMA, ":")}
    start, end = minima["perfect"], _unwrapped_end(minima["perfect"], minima[end_name])
    calc = primed_calculator(bundled_potential("nnsnap"), start)
    for image in (start, end):                     # nnsnap minima already: a few steps at most
        image.calc = calc
        FIRE(image, logfile=None).run(fmax=fmax / 2, steps=500)
    images = [start] + [start.copy() for _ in range(n_images)] + [end]
    for image in images[1:-1]:
        image.calc = calc
    neb = NEB(images, climb=True, method="improvedtangent", allow_shared_calculator=True)
    neb.interpolate()
    converged = FIRE(neb, logfile=str(work / "neb.log")).run(fmax=fmax, steps=3000)
    energies = np.array([image.get_potential_energy() for image in images])
    tangents = _tangents(images)
    for k, image in enumerate(images):
        f = image.get_forces()
        image.info.update(name=f"{end_name}-image{k}", nnsnap_energy=float(energies[k]),
                          nnsnap_f_perp_rms=_perpendicular_rms(f, tangents[k]))
        image.calc = None
    write(work / "path.extxyz", images)
    print(f"NEB {'converged' if converged else 'NOT converged'} (fmax {fmax} eV/Å); nnsnap "
          f"profile (eV): {np.round(energies - energies[0], 3).tolist()}")


def _tangents(images) -> list[np.ndarray]:
    """Unit tangents of the path (central differences; one-sided at the ends)."""
    pos = [im.positions for im in images]
    out = []
    for k in range(len(pos)):
        t = pos[min(k + 1, len(pos) - 1)] - pos[max(k - 1, 0)]
        out.append(t / np.linalg.norm(t))
    return out


def _perpendicular_rms(forces: np.ndarray, tangent: np.ndarray) -> float:
    """RMS force component (eV/Å) perpendicular to the path."""
    perp = forces - np.sum(forces * tangent) * tangent
    return float(np.sqrt(np.mean(perp ** 2)))


def compare(work: Path, labels: Path) -> None:
    images = read(work / "path.extxyz", ":")
    dft = np.load(labels / "set.000" / "energy.npy")
    forces = np.load(labels / "set.000" / "force.npy").reshape(len(dft), -1, 3)
    n = len(dft)
    tangents = _tangents(images)[:n]
    nn = np.array([im.info["nnsnap_energy"] for im in images[:n]])
    rows = [[im.info["name"] for im in images[:n]], (nn - nn[0]).tolist(), (dft - dft[0]).tolist(),
            [im.info["nnsnap_f_perp_rms"] for im in images[:n]],
            [_perpendicular_rms(f, t) for f, t in zip(forces, tangents)]]
    write_csv(HERE / "beta-barrier.csv", ["image", "dE_nnsnap_eV", "dE_pbe_d3_eV",
                                          "f_perp_rms_nnsnap_eV_A", "f_perp_rms_pbe_d3_eV_A"], rows)
    for name, en, ed, fn, fd in zip(*rows):
        print(f"{name:>22}  nnsnap {en:+.3f}  PBE-D3 {ed:+.3f} eV   F⊥ RMS {fn:.3f} / {fd:.3f} eV/Å")
    if n == len(images):
        print(f"barrier along the path: nnsnap {max(rows[1]):.3f} eV, PBE-D3 {max(rows[2]):.3f} eV")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["path", "compare"])
    parser.add_argument("work", type=Path)
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument("--end", default="600K-frame2", help="path: the minimum to go to")
    parser.add_argument("--images", type=int, default=7, help="path: intermediate images")
    parser.add_argument("--fmax", type=float, default=0.05, help="path: NEB force tolerance (eV/Å)")
    args = parser.parse_args()
    if args.action == "path":
        path(args.work, args.end, args.images, args.fmax)
    else:
        compare(args.work, args.labels)
