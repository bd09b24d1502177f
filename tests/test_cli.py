"""The command line as a user runs it: help everywhere, the demo, structure and convert."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ionscope.cli import build_parser, main


def _subcommands(parser, prefix=()):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subcommands(sub, (*prefix, name))


def test_help_on_every_subcommand(capsys):
    commands = list(_subcommands(build_parser()))
    assert {("demo",), ("run",), ("report",), ("potential", "train")} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: ionscope" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "ionscope", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("ionscope ")


def test_structure_and_convert_on_a_dump(tmp_path, capsys, beta_dump):
    dump = beta_dump
    assert main(["structure", str(dump), "--type-map", "Li,P,S", "--out", str(tmp_path / "s"),
                 "--r-max", "6"]) == 0
    assert (tmp_path / "s" / "beta" / "structure.png").exists()
    assert main(["report", str(tmp_path / "s")]) == 0          # the generic report of any folder
    page = (tmp_path / "s" / "index.html").read_text()
    assert "src='beta/structure.png'" in page and "beta/rdf.csv" in page and "Headline numbers" in page
    assert main(["convert", str(dump), str(tmp_path / "beta.h5"), "--type-map", "Li,P,S",
                 "--md-timestep", "0.001"]) == 0
    assert "wrote 3 frames" in capsys.readouterr().out
    assert main(["structure", str(dump), "--out", str(tmp_path / "s")]) == 2
    assert "pass type_map" in capsys.readouterr().err


@pytest.fixture
def beta_dump(tmp_path):
    from lammps_writer import write_dump
    from ionscope.data import crystal

    atoms = crystal("beta-Li3PS4")
    types = {"Li": 1, "P": 2, "S": 3}
    n = len(atoms)
    cols = {"id": [np.arange(1, n + 1)] * 3,
            "type": [np.array([types[s] for s in atoms.get_chemical_symbols()])] * 3}
    for k, c in enumerate("xyz"):
        cols[c] = [atoms.positions[:, k] + 0.01 * f for f in range(3)]
    dump = tmp_path / "beta.lammpstrj"
    write_dump(dump, [0, 100, 200], [atoms.cell.array] * 3, cols)
    return dump


def test_convert_refuses_to_overwrite_its_input_or_a_foreign_file(beta_dump, tmp_path, capsys):
    before = beta_dump.read_bytes()
    assert main(["convert", str(beta_dump), str(beta_dump), "--type-map", "Li,P,S", "--force"]) == 2
    assert "is the input trajectory" in capsys.readouterr().err
    assert beta_dump.read_bytes() == before
    notes = tmp_path / "notes.h5"
    notes.write_text("not an ionscope file")
    assert main(["convert", str(beta_dump), str(notes), "--type-map", "Li,P,S"]) == 2
    assert "not an ionscope H5MD file" in capsys.readouterr().err and notes.read_text()
    assert main(["convert", str(beta_dump), str(notes), "--type-map", "Li,P,S", "--force"]) == 0
    assert main(["convert", str(beta_dump), str(notes), "--type-map", "Li,P,S"]) == 0  # ours now
    assert main(["convert", str(beta_dump), str(tmp_path), "--type-map", "Li,P,S"]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_type_map_with_blanks(beta_dump, tmp_path, capsys):
    assert main(["convert", str(beta_dump), str(tmp_path / "b.h5"), "--type-map", "Li, P, S"]) == 0
    assert "wrote 3 frames" in capsys.readouterr().out


def test_structure_name_stays_inside_out(beta_dump, tmp_path, capsys):
    out = tmp_path / "deep" / "out"
    assert main(["structure", str(beta_dump), "--type-map", "Li,P,S", "--out", str(out),
                 "--name", "../../escape"]) == 2
    assert "--name '../../escape'" in capsys.readouterr().err
    assert not (tmp_path / "escape").exists()


def test_nan_coordinates_and_zero_timestep_are_messages(beta_dump, tmp_path, capsys):
    out = tmp_path / "out"
    lines = beta_dump.read_text().splitlines(keepends=True)
    first_atom = lines.index("ITEM: ATOMS id type x y z\n") + 1
    lines[first_atom] = " ".join(lines[first_atom].split()[:2] + ["nan", "1.0", "1.0"]) + "\n"
    bad = tmp_path / "nan.lammpstrj"
    bad.write_text("".join(lines))
    assert main(["structure", str(bad), "--type-map", "Li,P,S", "--out", str(out)]) == 2
    assert "nan.lammpstrj: frame 0: non-finite" in capsys.readouterr().err
    assert not (out / "nan").exists()
    assert main(["softness", str(beta_dump), "--type-map", "Li,P,S", "--md-timestep", "0",
                 "--out", str(out)]) == 2
    assert "md_timestep must be a positive number" in capsys.readouterr().err
