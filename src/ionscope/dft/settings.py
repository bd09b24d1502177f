"""One CP2K level of theory: functional, dispersion, basis, pseudopotentials, grids, SCF.

Every label that ionscope stores carries the :class:`CP2KSettings` it was computed with
(``as_dict()`` in its provenance), so data sets can be checked for a single level of theory.
The presets reproduce the settings of the Li–P–S training data of Chen et al., Nat. Commun. 2025
(CP2K, PBE, GTH pseudopotentials, DZVP-MOLOPT-SR for Li, TZVP-MOLOPT for P and S, 500 Ry /
50 Ry), with and without Grimme's D3 (zero damping; Grimme et al., J. Chem. Phys. 132, 154104,
2010).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class CP2KSettings(BaseModel):
    """A CP2K Quickstep (GPW) single-point setup. Energies in eV, lengths in Å, cutoffs in Ry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="preset name, recorded with every label")
    functional: str = "PBE"
    d3: bool = Field(description="add Grimme D3 with zero damping (CP2K DFTD3 pair potential)")
    cutoff: float = Field(500.0, gt=0, description="plane-wave cutoff of the finest grid (Ry)")
    rel_cutoff: float = Field(50.0, gt=0, description="relative cutoff of the multigrid (Ry)")
    basis: dict[str, str] = {"Li": "DZVP-MOLOPT-SR-GTH", "P": "TZVP-MOLOPT-GTH",
                             "S": "TZVP-MOLOPT-GTH"}
    pseudopotential: dict[str, str] = {"Li": "GTH-PBE-q3", "P": "GTH-PBE-q5", "S": "GTH-PBE-q6"}
    basis_file: str = "BASIS_MOLOPT"
    pseudopotential_file: str = "GTH_POTENTIALS"
    eps_scf: float = Field(1e-6, gt=0)
    max_scf: int = Field(50, gt=0, description="inner OT steps per outer SCF cycle")
    max_outer_scf: int = Field(10, gt=0)
    eps_default: float = 1e-12
    smearing_K: float = Field(0.0, ge=0, description=(
        "Fermi-Dirac electronic temperature (K), solved by diagonalisation; 0 = integer "
        "occupations, as the stored data (see SCF_FALLBACK_SMEARING_K)"))
    supercell_width: float = Field(0.0, ge=0, description=(
        "k-point sampling (Å): a Γ-centred grid equivalent to Γ-only in a supercell at least this "
        "wide in every direction; 0 = Γ only, as the stored data (see kpoint_grid)"))

    def kpoint_grid(self, cell) -> tuple[int, int, int]:
        """Γ-centred k-grid n_i = ⌈L / h_i⌉ for the cell's face-to-face widths h_i and
        L = ``supercell_width``: the grid points m_i/n_i sample the Brillouin zone exactly as Γ
        does in the n1×n2×n3 supercell (Monkhorst & Pack, PRB 13, 5188, 1976; measured: a
        32-atom β-Li3PS4 frame on 1×1×2 gives its 64-atom supercell's Γ label to 0.05 meV/Å)."""
        if not self.supercell_width:
            return (1, 1, 1)
        return tuple(max(1, int(np.ceil(self.supercell_width / h - 1e-9)))
                     for h in cell_widths(cell))

    @property
    def level_of_theory(self) -> str:
        """A short label such as ``PBE-D3(0)`` or ``PBE``."""
        return f"{self.functional}-D3(0)" if self.d3 else self.functional

    def check_species(self, symbols, where: str = "") -> None:
        """Refuse elements that have no basis set or pseudopotential in these settings."""
        missing = sorted(set(symbols) - (set(self.basis) & set(self.pseudopotential)))
        if missing:
            raise ValueError(f"{where or 'frames'}: no basis set / pseudopotential for "
                             f"{missing} in CP2K settings {self.name!r}")


def cell_widths(cell) -> np.ndarray:
    """Face-to-face widths h_i = V / |a_j × a_k| of a cell (Å): how far a periodic image is."""
    cell = np.asarray(cell, float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3]))
                     for i in range(3)])


SCF_FALLBACK_SMEARING_K = 300.0
"""K: a frame whose SCF does not converge with integer occupations (a liquid frame with states at
the Fermi level: the occupations slosh, 0.1 eV a step, whatever the mixing) is solved again with
this Fermi-Dirac smearing (Mermin, Phys. Rev. 137, A1441 (1965)); at kT = 26 meV it changes
nothing where there is a gap, and the frame's label records it."""

LATER_FIELDS = {"supercell_width": 0.0, "smearing_K": 0.0}
"""Settings added after labels were committed, with the value that leaves those labels' hash
unchanged."""

GAMMA_ONLY_MIN_WIDTH = 10.0
"""Å: labelling a narrower cell at Γ only warns (at 6-8 Å the forces are 40-100 meV/Å off)."""

PRESETS: dict[str, CP2KSettings] = {
    "lips-pbe-d3": CP2KSettings(name="lips-pbe-d3", d3=True),
    "lips-pbe": CP2KSettings(name="lips-pbe", d3=False),
    "lips-pbe-d3-12A": CP2KSettings(name="lips-pbe-d3-12A", d3=True, supercell_width=12.0),
}
"""``lips-pbe-d3``: the papers' level (default); ``lips-pbe``: the level of the stored AIMD labels;
both Γ only, as the stored data (cells 8-20 Å wide). ``lips-pbe-d3-12A``: PBE-D3 with k-points
as in a ≥ 12 Å supercell, for cells smaller than the data's (Γ only in a 6 Å wide 32-atom
β-Li3PS4 cell puts forces 101 meV/Å and stresses 2.9 GPa off, 1×2×2 k-points 6 meV/Å and
0.03 GPa: docs/dft.md, "Sampling")."""


def get_preset(name: str) -> CP2KSettings:
    """A preset by name; the error lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown CP2K preset {name!r}; known: {', '.join(PRESETS)}") from None
