"""A static HTML report of a run directory: one folder, opens offline, figures beside their CSV
data and the parameters that made them."""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..provenance import atomic_write

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#555}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}details{margin:.5em 0}
code,pre{background:#f6f6f6;font-size:.85em}pre{padding:.6em;overflow:auto}
"""
GENERATOR = "<meta name='generator' content='ionscope'>"


def check_overwrite(page: Path, force: bool = False) -> None:
    """Refuse to replace a page that ionscope did not write (its own carry :data:`GENERATOR`,
    older ones the report style), unless ``force``."""
    if force or not page.exists():
        return
    text = page.read_text(errors="replace")
    if GENERATOR not in text and _STYLE not in text:
        raise ValueError(f"{page} was not written by ionscope; not replacing it (move it away, "
                         "or pass --force to overwrite it)")


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def write_report(run_dir: str | Path, title: str = "ionscope report", notes: list[str] | None = None,
                 force: bool = False) -> Path:
    """Write ``run_dir/index.html`` from every ``*/summary.json`` (headline numbers) and every
    PNG figure below ``run_dir`` (with the CSV files of the same folder as its data). A folder
    with neither is refused, and so is an ``index.html`` not written by ionscope (unless
    ``force``)."""
    run_dir = Path(run_dir)
    systems = sorted(p.parent for p in run_dir.glob("*/summary.json"))
    if not systems and next(run_dir.rglob("*.png"), None) is None:
        raise ValueError(f"{run_dir}: not an ionscope run (no study.json, no */summary.json, no "
                         "figures): nothing to report")
    check_overwrite(run_dir / "index.html", force)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}"
             f"<title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for note in notes or []:
        parts.append(f"<p class='note'>{html.escape(note)}</p>")
    if systems:
        summaries = {s.name: json.loads((s / "summary.json").read_text()) for s in systems}
        keys = [k for k in summaries[systems[0].name]["summary"] if k != "system"]
        parts.append("<h2>Headline numbers</h2><table><tr><th>quantity</th>" +
                     "".join(f"<th>{html.escape(n)}</th>" for n in summaries) + "</tr>")
        for key in keys:
            parts.append(f"<tr><td>{html.escape(key)}</td>" + "".join(
                f"<td>{html.escape(_fmt(s['summary'].get(key, '')))}</td>" for s in summaries.values()) + "</tr>")
        parts.append("</table>")
    for folder in sorted({p.parent for p in run_dir.rglob("*.png")}):
        rel = folder.relative_to(run_dir)
        parts.append(f"<h2>{html.escape(str(rel) if str(rel) != '.' else run_dir.name)}</h2>")
        data = sorted(folder.glob("*.csv"))
        for png in sorted(folder.glob("*.png")):
            src = png.relative_to(run_dir).as_posix()
            parts.append(f"<figure><img src='{html.escape(src)}' alt='{html.escape(png.stem)}'>"
                         f"<figcaption>{html.escape(png.stem)}. Data: " +
                         ", ".join(f"<a href='{html.escape(c.relative_to(run_dir).as_posix())}'>"
                                   f"{html.escape(c.name)}</a>" for c in data) + "</figcaption></figure>")
        summary = folder / "summary.json"
        if summary.exists():
            record = json.loads(summary.read_text()).get("provenance", {})
            parts.append("<details><summary>parameters, inputs and software</summary><pre>" +
                         html.escape(json.dumps(record, indent=1)) + "</pre></details>")
    parts.append("</body></html>")
    path = run_dir / "index.html"
    with atomic_write(path) as handle:
        handle.write("\n".join(parts))
    return path
