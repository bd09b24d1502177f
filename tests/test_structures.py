"""Starting structures: supercells, random packings, glass-ceramic cells."""

from __future__ import annotations

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from ionscope.structures import (composition_counts, composition_ratios, crystal_supercell,
                                 glass_ceramic_cell, random_packing, xli2s_p2s5_formula)


def test_supercell_by_target_and_orientation():
    cell = crystal_supercell("beta-Li3PS4", target_atoms=768)
    assert len(cell) == 768
    lengths = cell.cell.lengths()
    assert lengths.max() / lengths.min() < 1.1
    turned = crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1), axis=0)
    assert turned.cell.lengths()[2] == pytest.approx(12.819, abs=1e-3)  # a now along z
    assert turned.get_volume() == pytest.approx(crystal_supercell("beta-Li3PS4", repeat=(1, 1, 1)).get_volume())
    with pytest.raises(ValueError, match="repeat"):
        crystal_supercell("beta-Li3PS4")


def test_compositions():
    assert xli2s_p2s5_formula(75) == pytest.approx({"Li": 1.5, "P": 0.5, "S": 2.0})
    assert composition_counts("75Li2S-25P2S5", 256) == {"Li": 96, "P": 32, "S": 128}
    counts = composition_counts("70Li2S-30P2S5", 1000)
    assert counts["Li"] / counts["P"] == pytest.approx(70 / 30, rel=0.02)
    chen = composition_counts("LiP0.465S1.605", 1000)
    assert chen["P"] / chen["Li"] == pytest.approx(0.465, rel=0.02)
    with pytest.raises(ValueError):
        composition_counts("Xx2", 10)


def test_random_packing_respects_density_and_minimum_distance():
    counts = composition_counts("75Li2S-25P2S5", 512)
    atoms = random_packing(counts, density=1.87, min_distance=1.9, seed=4)
    assert len(atoms) == 512
    density = atoms.get_masses().sum() / atoms.get_volume() * 1.66053906660
    assert density == pytest.approx(1.87, rel=1e-6)
    assert neighbor_list("d", atoms, 1.9).size == 0
    again = random_packing(counts, density=1.87, min_distance=1.9, seed=4)
    np.testing.assert_array_equal(atoms.positions, again.positions)
    with pytest.raises(ValueError, match="could not place"):
        random_packing(counts, density=1.87, min_distance=4.0, max_tries=50)


def test_glass_ceramic_cell_marks_a_central_crystal_slab():
    gc = glass_ceramic_cell("beta-Li3PS4", crystal_fraction=0.5, repeat=(2, 2, 4))
    z = gc.get_scaled_positions()[:, 2]
    frozen = gc.arrays["frozen"].astype(bool)
    assert 0.4 < frozen.mean() < 0.6
    assert np.all(np.abs(z[frozen] - 0.5) < 0.25) and np.all(np.abs(z[~frozen] - 0.5) >= 0.25)


@pytest.mark.parametrize("bad, reason", [
    ("75Li2S-30P2S5", "add up to 100"),          # was built as 75:25
    ("Li3PS4 + junk", "cannot parse"),            # was Li3PS4
    ("Li-3PS4", "cannot parse"),                  # was Li:P:S = 1:1:4
    ("Li0PS4", "must be positive"),
    ("Xx2", "unknown element"),
])
def test_compositions_are_parsed_strictly(bad, reason):
    with pytest.raises(ValueError, match=reason):
        composition_counts(bad, 96)
    with pytest.raises(ValueError, match=reason):
        composition_ratios(bad)


def test_composition_counts_refuse_to_drop_an_element():
    assert composition_ratios("Li3 P S4") == {"Li": 3.0, "P": 1.0, "S": 4.0}
    with pytest.raises(ValueError, match=r"leaves no \['P'\] atom"):
        composition_counts("LiP0.001S", 100)
