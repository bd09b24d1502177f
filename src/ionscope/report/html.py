"""Static HTML pages: the one page writer (:func:`write_page`, with :func:`headline_table` and
:func:`figure`) that the study report uses too, and the report of any run directory
(:func:`write_report`): one folder, opens offline, figures beside their CSV data and the
parameters that made them."""

from __future__ import annotations

import html
import json
from pathlib import Path

from ..provenance import atomic_write
from .summaries import StructureSummary

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


def headline_table(rows: dict[str, dict]) -> str:
    """The headline numbers: a row per quantity (the keys of the first column's dict), a column
    per system; a missing value shows as '–'."""
    keys = list(next(iter(rows.values())))
    parts = ["<h2>Headline numbers</h2><table><tr><th>quantity</th>" +
             "".join(f"<th>{html.escape(n)}</th>" for n in rows) + "</tr>"]
    for key in keys:
        parts.append(f"<tr><td>{html.escape(key)}</td>" + "".join(
            f"<td>{html.escape(_fmt(r[key]) if r.get(key) is not None else '–')}</td>"
            for r in rows.values()) + "</tr>")
    return "".join(parts) + "</table>"


def figure(png: str, caption: str, csvs: list[str], params: dict | None = None) -> str:
    """A figure with its caption, links to its CSV data and (folded) the parameters, inputs and
    software that made it."""
    links = ", ".join(f"<a href='{html.escape(c)}'>{html.escape(Path(c).name)}</a>" for c in csvs)
    out = (f"<figure><img src='{html.escape(png)}' alt='{html.escape(caption)}'>"
           f"<figcaption>{html.escape(caption)}" + (f" Data: {links}" if links else "") +
           "</figcaption></figure>")
    return out + (_parameters(params) if params else "")


def _parameters(record: dict) -> str:
    return ("<details><summary>parameters, inputs and software</summary><pre>" +
            html.escape(json.dumps(record, indent=1, default=str)) + "</pre></details>")


def write_page(path: str | Path, title: str, body: list[str], notes: list[str] = ()) -> Path:
    """The one page writer of ionscope: a self-contained HTML page (style inline, marked with
    :data:`GENERATOR`) with ``title``, ``notes`` and the HTML blocks of ``body``, atomically."""
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{GENERATOR}"
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
             f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p class='note'>{html.escape(note)}</p>" for note in notes]
    parts += body
    parts.append("</body></html>")
    path = Path(path)
    with atomic_write(path) as handle:
        handle.write("\n".join(parts))
    return path


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
    body = []
    if systems:
        summaries = {s.name: json.loads((s / "summary.json").read_text())["summary"] for s in systems}
        labels = {k: f.title for k, f in StructureSummary.model_fields.items() if f.title}
        body.append(headline_table({n: {labels.get(k, k): v for k, v in s.items() if k != "system"}
                                    for n, s in summaries.items()}))
    for folder in sorted({p.parent for p in run_dir.rglob("*.png")}):
        rel = folder.relative_to(run_dir)
        body.append(f"<h2>{html.escape(str(rel) if str(rel) != '.' else run_dir.name)}</h2>")
        data = [c.relative_to(run_dir).as_posix() for c in sorted(folder.glob("*.csv"))]
        for png in sorted(folder.glob("*.png")):
            body.append(figure(png.relative_to(run_dir).as_posix(), f"{png.stem}.", data))
        summary = folder / "summary.json"
        if summary.exists():
            body.append(_parameters(json.loads(summary.read_text()).get("provenance", {})))
    return write_page(run_dir / "index.html", title, body, notes or [])
