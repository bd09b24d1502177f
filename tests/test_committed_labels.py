"""The CP2K labels committed with ionscope: complete, at PBE-D3(0), and sampled as a ≥ 10 Å cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ionscope.dft import CP2KSettings, read_labels
from ionscope.dft.settings import GAMMA_ONLY_MIN_WIDTH, cell_widths
from ionscope.io.deepmd_npy import load_system
from ionscope.potential.dataset import find_systems

ROOT = Path(__file__).parents[1]
LABELS = [*find_systems(ROOT / "src" / "ionscope" / "data" / "dft"),
          *find_systems(ROOT / "validation" / "dft" / "loop1-labels"),
          *find_systems(ROOT / "validation" / "dft" / "melt-labels"),
          *[s for s in (ROOT / "validation" / "dft" / "learn-labels").glob("*/")
            if (s / "type.raw").exists()]]


@pytest.mark.parametrize("system", LABELS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_label_system_is_complete_and_converged_in_sampling(system):
    meta = read_labels(system)
    data = load_system(system)
    energy = data["energy"]
    assert len(meta["frames"]) == len(energy) > 0
    assert meta["level_of_theory"] == "PBE-D3(0)"
    settings = CP2KSettings(**meta["parameters"]["settings"])
    n_atoms = len(data["types"])
    for name, shape in [("coord", 3 * n_atoms), ("force", 3 * n_atoms), ("box", 9), ("virial", 9)]:
        assert data[name].shape == (len(energy), shape)
    for box in data["box"].reshape(-1, 3, 3):
        sampled = cell_widths(box) * np.array(settings.kpoint_grid(box))
        assert sampled.min() >= GAMMA_ONLY_MIN_WIDTH, (system, sampled)


def test_bundled_thermal_volume_is_recomputed_from_the_committed_labels():
    """The PBE-D3 density of β-Li3PS4 that the "dft" physics check uses
    (``dft/beta-Li3PS4-thermal-volume.json``) follows from exactly the committed thermal labels
    it names: every one of them still there with the same box and virial, none left out, and
    the plane fit gives the stored volumes again."""
    import importlib.util
    import json

    from ionscope.data import data_path
    from ionscope.provenance import sha256_file

    record = json.loads(data_path("dft/beta-Li3PS4-thermal-volume.json").read_text())
    spec = importlib.util.spec_from_file_location("thermal_volume",
                                                  ROOT / "validation" / "dft" / "thermal_volume.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert sorted(record["systems"]) == sorted(d.relative_to(ROOT).as_posix()
                                               for d in script.label_systems())
    for path, entry in record["systems"].items():
        assert sha256_file(ROOT / path / "set.000" / "virial.npy") == entry["virial_sha256"]
        assert sha256_file(ROOT / path / "set.000" / "box.npy") == entry["box_sha256"]
    again = script.thermal_volume()
    for T, v in record["volume_per_atom_A3"].items():
        assert again["volume_per_atom_A3"][T] == pytest.approx(v, rel=1e-12)
    assert 0.9 < record["volume_vs_cif"]["300"] < record["volume_vs_cif"]["600"] < 1.05
