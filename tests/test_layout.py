"""The contracts between study steps and the report (issue #11, item 4): task keys from one
layout, dependencies by role, typed step summaries with machine keys, one CSV writer/reader, one
page writer, and imports that only go down (report never imports workflow; md never report)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from ionscope.io.tables import read_csv, write_csv
from ionscope.report.summaries import (SUMMARY_SCHEMA, AnalysisSummary, StructureSummary, Tables,
                                       label)
from ionscope.workflow.layout import StudyLayout
from ionscope.workflow.pipeline import Pipeline, Task, task_hashes
from ionscope.workflow.run import build_tasks
from ionscope.workflow.study import load_study
from test_study import TINY

SRC = Path(__file__).resolve().parents[1] / "src" / "ionscope"


def _study(tmp_path, text=TINY):
    path = tmp_path / "study.toml"
    path.write_text(text)
    return load_study(path)


def test_every_task_key_comes_from_the_layout_and_dependencies_carry_roles(tmp_path):
    study = _study(tmp_path, TINY.replace('equilibrate_ensemble = "nvt"',
                                          'equilibrate_ensemble = "npt"\npressure_reference = "experiment"'))
    keys = StudyLayout(study)
    tasks = {t.key: t for t in build_tasks(study)}
    expected = {keys.REPORT, keys.SOFTNESS_MODEL}
    for s in study.systems:
        expected |= {keys.build(s.name), keys.transport(s.name), keys.softness(s.name)}
        expected |= {keys.prepare(s.name)} if s.kind != "crystal" else set()
        for T in study.md.temperatures:
            expected |= {f(s.name, T) for f in (keys.pressure, keys.md, keys.vdos, keys.analysis)}
    assert set(tasks) == expected
    assert tasks["beta/md-800K"].roles == {"start": "beta/build", "pressure": "beta/pressure-800K"}
    assert tasks["glass/analysis-1000K"].roles == {"md": "glass/md-1000K", "vdos": "glass/vdos-1000K"}
    assert tasks["gc/transport"].roles == {"analysis": {800.0: "gc/analysis-800K",
                                                        1000.0: "gc/analysis-1000K"}}
    assert tasks["glass/softness"].roles == {"md": "glass/md-800K", "model": "softness-model"}
    assert tasks["report"].roles["md"][("beta", 800.0)] == "beta/md-800K"   # its pressure record
    assert tasks["beta/analysis-800K"].params["summary_schema"] == SUMMARY_SCHEMA
    # no key is assembled outside the layout: no string of the workflow or the report (other
    # than docstrings) holds a piece of one
    pieces = ("/md-", "/analysis-", "/vdos-", "/pressure-", "/build", "/prepare", "/transport",
              "/softness")
    fragments = ("md-", "analysis-", "vdos-", "pressure-")      # of f"analysis-{T:g}K"
    sources = [p for p in (SRC / "workflow").glob("*.py") if p.name != "layout.py"]
    for path in sources + list((SRC / "report").glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                assert not any(p in node.value for p in pieces), (path.name, node.value)
                assert node.value not in fragments, (path.name, node.value)


def test_role_names_are_not_in_the_hash_and_runners_get_folders_by_role(tmp_path):
    seen = {}

    def upstream(work, deps):
        (work / "out.txt").write_text("A")

    def downstream(work, deps):
        seen.update(deps)
        (work / "out.txt").write_text(deps["source"].joinpath("out.txt").read_text() + "B")

    tasks = [Task("a", "step", {}, run=upstream),
             Task("b", "step", {}, roles={"source": "a"}, run=downstream)]
    status = Pipeline(tmp_path, tasks, log=lambda *_: None).run()
    assert status == {"a": "ran", "b": "ran"} and seen == {"source": tmp_path / "a"}
    assert (tmp_path / "b" / "out.txt").read_text() == "AB"
    assert json.loads((tmp_path / "b" / "ionscope-task.json").read_text())["deps"] == ["a"]
    # the same dependency under another role name, or given as a plain key: the same hash,
    # so a finished run resumes (skips) after roles are renamed
    renamed = [Task("a", "step", {}, run=upstream),
               Task("b", "step", {}, roles={"input": "a"}, run=downstream)]
    plain = [Task("a", "step", {}), Task("b", "step", {}, deps=["a"])]
    hashes = [task_hashes({t.key: t for t in ts}) for ts in (tasks, renamed, plain)]
    assert hashes[0] == hashes[1] == hashes[2]
    assert Pipeline(tmp_path, renamed, log=lambda *_: None).run() == {"a": "skipped", "b": "skipped"}
    with pytest.raises(ValueError, match="deps or roles, not both"):
        Task("c", "step", {}, deps=["a"], roles={"x": "a"})


def test_structure_summary_has_machine_keys_and_the_report_gives_the_labels(tmp_path):
    from ionscope.structures import crystal_supercell
    from ionscope.workflow.structure import analyse_structure

    summary = analyse_structure(crystal_supercell("beta-Li3PS4", target_atoms=96), "beta", tmp_path)
    assert 2.0 < summary["p_s_bond_length_A"] < 2.15 and summary["anion_p_fractions"]["PS4"] == 1.0
    assert all(" " not in key and "(" not in key for key in summary)
    written = json.loads((tmp_path / "beta" / "summary.json").read_text())["summary"]
    assert StructureSummary.model_validate(written).p_s_bond_length_A == summary["p_s_bond_length_A"]
    assert label(StructureSummary, "p_s_bond_length_A") == "P-S bond length (A)"
    rdf = read_csv(tmp_path / "beta" / Tables.RDF)
    assert Tables.pair("g", "P", "S") in rdf and len(rdf["r"]) == 400


def test_a_summary_of_the_wrong_shape_names_its_file(tmp_path):
    old = {"system": "beta", "T": 800.0, "frames": 10, "kind": "crystal",
           "structure": {"P-S bond length (Å)": 2.05}}       # display labels as keys (before #11)
    (tmp_path / "summary.json").write_text(json.dumps({"summary": old}))
    with pytest.raises(ValueError, match=f"{tmp_path / 'summary.json'}: not a valid AnalysisSummary"):
        AnalysisSummary.read(tmp_path)
    with pytest.raises(FileNotFoundError, match="no StructureSummary"):
        StructureSummary.read(tmp_path / "missing")


def test_one_csv_writer_for_numbers_and_system_names(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(path, ["system", "T_K", "D"], [np.array(["beta", "glass"]), [800, 1000.5], [1.234567891e-5, np.nan]])
    assert path.read_text() == "system,T_K,D\nbeta,800,1.23457e-05\nglass,1000.5,nan\n"
    write_csv(path, ["x", "ok"], [[0.1, 0.2], np.array([True, False])])
    table = read_csv(path)
    np.testing.assert_allclose(table["x"], [0.1, 0.2])
    np.testing.assert_array_equal(table["ok"], [1, 0])
    with pytest.raises(ValueError, match=f"{path}: columns of unequal length"):
        write_csv(path, ["a", "b"], [[1, 2], [1]])
    path.write_text("a,b\n1,x\n")
    with pytest.raises(ValueError, match=f"{path}: not a numeric CSV table"):
        read_csv(path)


def test_imports_only_go_down_from_report_and_md():
    """report never imports workflow or cli; md never imports report (its CSV writer is io's)."""
    forbidden = {"report": ("workflow", "cli"), "md": ("report", "workflow", "cli"),
                 "io": ("report", "workflow", "cli", "md")}
    for package, above in forbidden.items():
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                    assert node.module.split(".")[0] not in above, (path, node.module)


def test_the_study_page_and_the_run_page_come_from_one_writer(tmp_path):
    from ionscope.report import html

    page = html.write_page(tmp_path / "index.html", "t", [html.headline_table({"a": {"x": 1.0, "y": None}}),
                                                          html.figure("f.png", "cap.", ["d.csv"])],
                           notes=["n"])
    text = page.read_text()
    assert html.GENERATOR in text and "<td>–</td>" in text and "<a href='d.csv'>d.csv</a>" in text
    html.check_overwrite(page)              # its own page may be replaced
    study_source = (SRC / "report" / "study.py").read_text()
    assert "<!doctype html>" not in study_source and "_STYLE" not in study_source
