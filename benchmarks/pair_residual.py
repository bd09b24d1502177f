"""Benchmark (diagnostic): how much of a potential's glass force error a pair term would remove.

Cubic B-spline pair energies per element pair (cutoff RC, K functions) are fitted by ridge
regression to the force and energy residuals of the bundled ``nnsnap`` on every 2nd glass
training frame of the curated data, and scored on the glass validation frames (the split of
the bundled models). Results: ``neural_potentials_results.md``, Findings.

    python benchmarks/pair_residual.py --data runs/curated-pbe-d3 --work runs/pair-residual [RC K]
"""
import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list
from scipy.interpolate import BSpline

from ionscope.io.deepmd_npy import load_system

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--data", type=Path, required=True, help="curated data (ionscope potential curate)")
parser.add_argument("--work", type=Path, required=True, help="work folder (split, predictions)")
parser.add_argument("rc", type=float, nargs="?", default=6.0, help="pair cutoff (Å)")
parser.add_argument("K", type=int, nargs="?", default=24, help="B-spline functions per pair")
ARGS = parser.parse_args()
rc, r0, K = ARGS.rc, 1.4, ARGS.K
SPECIES = ["Li", "P", "S"]
PAIRS = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
pair_index = {}
for n, (a, b) in enumerate(PAIRS):
    pair_index[(a, b)] = pair_index[(b, a)] = n
h = (rc - r0) / K  # knot spacing: K cubic B-splines whose supports lie in [r0 - 3h, rc]
knots = r0 + h * (np.arange(K + 4) - 3)
# function k has support [knots[k], knots[k+4]]; keep those with knots[k+4] <= rc
keep = [k for k in range(K) if knots[k + 4] <= rc + 1e-9]
basis = [BSpline.basis_element(knots[k:k + 5], extrapolate=False) for k in keep]
nb = len(basis)
ncoef = nb * len(PAIRS)


def phi(d):
    v = np.nan_to_num(np.array([b(d) for b in basis]).T)
    g = np.nan_to_num(np.array([b.derivative()(d) for b in basis]).T)
    return v, g


def design(atoms, el):
    i, j, d, D = neighbor_list("ijdD", atoms, rc)
    t = np.array([pair_index[(a, b)] for a, b in zip(el[i], el[j])])
    v, g = phi(d)
    n = len(atoms)
    E = np.zeros(ncoef)
    F = np.zeros((n, 3, ncoef))
    for p in range(len(PAIRS)):
        m = t == p
        E[p * nb:(p + 1) * nb] = 0.5 * v[m].sum(0)
        contrib = g[m][:, None, :] * (D[m] / d[m][:, None])[:, :, None]
        np.add.at(F[:, :, p * nb:(p + 1) * nb], i[m], contrib)
    return E, F.reshape(3 * n, ncoef)


def load(system):
    """A DeePMD npy system with element indices (in SPECIES order) and symbols per atom."""
    data = load_system(system)
    symbols = [data["type_map"][t] for t in data["types"]]
    return dict(data, el=np.array([SPECIES.index(x) for x in symbols]), sym=symbols)


def main():
    from ionscope.potential import resolve_potential
    from ionscope.potential.dataset import split_systems
    work = ARGS.work
    cache = work / "predictions.npz"
    split = work / "split"
    if not split.exists():
        root = work / "glass"
        root.mkdir(parents=True, exist_ok=True)
        for name in ("glass-iter0-000", "glass-iter0-001", "glass-iter0-002"):
            if not (root / name).exists():
                (root / name).symlink_to((ARGS.data / name).resolve())
        split_systems(root, split)
    systems = {side: sorted((split / side).iterdir()) for side in ("train", "valid")}
    if not cache.exists():
        from ionscope.potential.lammps_eval import evaluate_lammps
        pot = resolve_potential("nnsnap")
        out = {}
        for side in ("train", "valid"):
            res = evaluate_lammps(pot, systems[side])
            for s in systems[side]:
                par = res["systems"][s.name]["parity"]
                n = res["systems"][s.name]["atoms"]
                idx = np.arange(res["systems"][s.name]["frames"])
                step = 2 if side == "train" else 1
                out[f"{side}/{s.name}/idx"] = idx[::step]
                out[f"{side}/{s.name}/e"] = (par["energy_pred"] * n)[::step]
                out[f"{side}/{s.name}/f"] = par["force_pred"].reshape(len(idx), -1)[::step]
                print(side, s.name, res["systems"][s.name]["force_rmse_meV_A"], flush=True)
        np.savez(cache, **out)
    pred = np.load(cache)

    def residuals(side):
        """(atoms, design E row, design F rows, force residual, energy residual) per frame."""
        for s in systems[side]:
            data = load(s)
            for m, k in enumerate(pred[f"{side}/{s.name}/idx"]):
                a = Atoms(data["sym"], positions=data["coord"][k].reshape(-1, 3),
                          cell=data["box"][k].reshape(3, 3), pbc=True)
                E, F = design(a, data["el"])
                yield (len(a), E, F, data["force"][k] - pred[f"{side}/{s.name}/f"][m],
                       float(np.ravel(data["energy"])[k]) - pred[f"{side}/{s.name}/e"][m])

    we = 3.0      # energy per atom weight, as the networks' fits
    AtA = np.zeros((ncoef, ncoef))
    Atb = np.zeros(ncoef)
    for n, E, F, rf, re in residuals("train"):
        A = np.vstack([F / np.sqrt(3 * n), we * E[None, :] / n])
        b = np.concatenate([rf / np.sqrt(3 * n), [we * re / n]])
        AtA += A.T @ A
        Atb += A.T @ b
    valid = list(residuals("valid"))
    for lam in (1e-6, 1e-5, 1e-4, 1e-3):
        c = np.linalg.solve(AtA + lam * np.trace(AtA) / ncoef * np.eye(ncoef), Atb)
        f0 = np.sqrt(np.mean(np.concatenate([rf for _, _, _, rf, _ in valid]) ** 2))
        f1 = np.sqrt(np.mean(np.concatenate([rf - F @ c for _, _, F, rf, _ in valid]) ** 2))
        e0 = np.std([re / n for n, _, _, _, re in valid])
        e1 = np.std([(re - E @ c) / n for n, E, _, _, re in valid])
        print(f"rc {rc} K {K} lambda {lam:g}: glass validation F {1e3 * f0:.1f} -> {1e3 * f1:.1f} "
              f"meV/A; E scatter {1e3 * e0:.2f} -> {1e3 * e1:.2f} meV/atom", flush=True)

if __name__ == "__main__":
    main()
