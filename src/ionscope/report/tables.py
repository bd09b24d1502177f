"""Plain-text outputs: CSV files next to every figure and console tables."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..provenance import atomic_write


def write_csv(path: str | Path, header: Sequence[str], columns: Sequence[np.ndarray]) -> None:
    """Columns of equal length as CSV with a header line, written atomically."""
    data = np.column_stack([np.asarray(c, float) for c in columns])
    with atomic_write(path) as handle:
        np.savetxt(handle, data, delimiter=",", header=",".join(header), comments="", fmt="%.6g")


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
