"""CSV tables: the one writer and the one reader of every CSV file ionscope writes (the data
beside each figure, LAMMPS thermo, study tables). One header line, comma-separated, numbers with
six significant digits; a text column (a system name) is written as it is, quoted where it
holds a comma."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np

from ..provenance import atomic_write


def write_csv(path: str | Path, header: Sequence[str], columns: Sequence) -> None:
    """Columns of equal length (numbers, or text such as system names) as CSV with a header
    line, written atomically."""
    if len(header) != len(columns):
        raise ValueError(f"{path}: {len(header)} column names for {len(columns)} columns")
    cells = []
    for name, column in zip(header, columns):
        values = np.asarray(column)
        if values.dtype.kind in "US":
            cells.append([str(v) for v in values])
        else:
            cells.append(["%.6g" % v for v in np.asarray(column, float)])
    lengths = {len(c) for c in cells}
    if len(lengths) > 1:
        raise ValueError(f"{path}: columns of unequal length {dict(zip(header, map(len, cells)))}")
    with atomic_write(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")    # quotes text holding commas
        writer.writerow(header)
        writer.writerows(zip(*cells))


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """A numeric CSV written by :func:`write_csv`: {column name: values}."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CSV file")
    header = path.read_text().split("\n", 1)[0].split(",")
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric CSV table ({exc})") from None
    if data.size and data.shape[1] != len(header):
        raise ValueError(f"{path}: {len(header)} column names but {data.shape[1]} values per row")
    return {h: data[:, k] if data.size else np.empty(0) for k, h in enumerate(header)}
