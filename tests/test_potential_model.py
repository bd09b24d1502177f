"""One model type per potential kind: LAMMPS lines, environment, JSON round trip, registry."""

import json

import pytest

from ionscope.potential import (DeepMDPotential, MLIAPPotential, PODPotential, Potential,
                                SNAPPotential, bundled_potential, potential_from_dict,
                                resolve_potential)
from ionscope.potential.bundled import DEFAULT, MODELS


def test_every_kind_round_trips_through_json(tmp_path):
    f = tmp_path / "model.pth"
    f.write_bytes(b"x")
    for cls in (Potential, DeepMDPotential, PODPotential, SNAPPotential):
        pot = cls("m", "style args", ["Li", "P", "S"], [f], ["a.par"])
        back = potential_from_dict(json.loads(json.dumps(pot.as_dict())))
        assert type(back) is cls and back == pot and back.sha256 == pot.sha256
    with pytest.raises(ValueError, match="unknown potential kind 'tersoff'"):
        potential_from_dict({**Potential("m", "x", ["Li"]).as_dict(), "kind": "tersoff"})


def test_lammps_lines_map_types_by_name_and_refuse_missing_species():
    pot = PODPotential("p", "pod", ["Li", "P", "S"], [], ["param.pod", "coeff.pod"])
    assert pot.lammps_lines(["S", "Li"]) == ["pair_style pod",
                                             "pair_coeff * * param.pod coeff.pod S Li"]
    with pytest.raises(ValueError, match=r"no parameters for \['Ge'\]"):
        pot.lammps_lines(["Li", "Ge"])


def test_only_deepmd_preloads_libtorch():
    pytest.importorskip("torch")
    pod = PODPotential("p", "pod", ["Li"])
    dp = DeepMDPotential("d", "deepmd m.pth", ["Li"])
    assert "libtorch_cpu.so" in dp.environment().get("LD_PRELOAD", "")
    assert "libtorch_cpu.so" not in pod.environment().get("LD_PRELOAD", "")


def test_bundled_default_resolves_to_its_kind():
    pot = resolve_potential(None)
    assert pot.name == DEFAULT == "nnsnap" and isinstance(pot, MLIAPPotential)
    assert resolve_potential(DEFAULT) == bundled_potential(DEFAULT)
    assert resolve_potential(MODELS / DEFAULT).species == pot.species    # an NN-SNAP directory
    assert isinstance(resolve_potential("pod-fast"), PODPotential)
    assert isinstance(resolve_potential(MODELS / "pod-fast"), PODPotential)  # a POD directory
    with pytest.raises(FileNotFoundError, match="not a bundled potential"):
        resolve_potential("no-such-model")


def test_pressure_errors_of_a_validation_follow_the_virial():
    """P = tr(W)/(3V): a 10 Å cube whose model virial exceeds the reference by diag(3, 3, 3) eV
    is 3/1000 eV/Å³ = 0.4807 GPa too high; with a zero model virial on the bundled CP2K β
    equation of state the error is minus the DFT pressures of ``ionscope.dft.eos``."""
    import numpy as np

    from ionscope.data import data_path
    from ionscope.dft.eos import frame_pressures
    from ionscope.potential.validation import pressure_errors

    cube = {"box": np.diag([10.0, 10.0, 10.0]).reshape(1, 9), "virial": np.zeros((1, 9))}
    out = pressure_errors(cube, np.diag([3.0, 3.0, 3.0]).reshape(1, 9))
    assert out["pressure_mean_error_GPa"] == pytest.approx(0.48065, rel=1e-4)
    assert out["pressure_rmse_GPa"] == pytest.approx(0.48065, rel=1e-4)
    _, pressure, _, data = frame_pressures(data_path("dft/eos-beta-Li3PS4"))
    out = pressure_errors(data, np.zeros_like(data["virial"]))
    assert out["pressure_mean_error_GPa"] == pytest.approx(-pressure.mean(), rel=1e-6)
    assert out["pressure_rmse_GPa"] == pytest.approx(np.sqrt(np.mean(pressure ** 2)), rel=1e-6)
