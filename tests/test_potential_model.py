"""One model type per potential kind: LAMMPS lines, environment, JSON round trip, registry."""

import json

import pytest

from ionscope.potential import (DeepMDPotential, PODPotential, Potential, SNAPPotential,
                                bundled_potential, potential_from_dict, resolve_potential)
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
    assert pot.name == DEFAULT and isinstance(pot, PODPotential)
    assert resolve_potential(DEFAULT) == bundled_potential(DEFAULT)
    assert resolve_potential(MODELS / DEFAULT).species == pot.species    # a POD directory
    with pytest.raises(FileNotFoundError, match="not a bundled potential"):
        resolve_potential("no-such-model")
