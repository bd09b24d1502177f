"""Console tables (the CSV files are written by :mod:`ionscope.io.tables`)."""

from __future__ import annotations

from typing import Sequence


def format_table(rows: list[dict], columns: Sequence[str]) -> str:
    """A fixed-width console table of ``rows`` (dicts) for the given ``columns``."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.3e}"
        return str(value)

    table = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[k]) for r in table)) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in table]
    return "\n".join(lines)
