"""Interatomic potentials as LAMMPS sees them: pair_style/pair_coeff lines plus the files they
need, with a content hash for provenance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..provenance import sha256_file


@dataclass
class Potential:
    """A LAMMPS potential. ``species`` is the element order of the model (LAMMPS types 1, 2, …
    are mapped to it by name in ``pair_coeff``)."""

    name: str
    pair_style: str
    species: list[str]
    files: list[Path] = field(default_factory=list)
    kind: str = "deepmd"

    def lammps_lines(self, type_order: list[str]) -> list[str]:
        missing = set(type_order) - set(self.species)
        if missing:
            raise ValueError(f"potential {self.name!r} has no parameters for {sorted(missing)} "
                             f"(it covers {self.species})")
        return [f"pair_style {self.pair_style}", f"pair_coeff * * {' '.join(type_order)}"]

    @property
    def sha256(self) -> str:
        import hashlib

        digest = hashlib.sha256()
        for f in self.files:
            digest.update(sha256_file(f).encode())
        return digest.hexdigest()

    def environment(self) -> dict[str, str]:
        """Environment for LAMMPS: with DeePMD's PyTorch backend, libtorch's BLAS must win over
        the one linked into liblammps, or LAMMPS runs about 10× slower."""
        env = dict(os.environ)
        if self.kind == "deepmd":
            import importlib.util

            spec = importlib.util.find_spec("torch")
            if spec and spec.origin:
                lib = Path(spec.origin).parent / "lib" / "libtorch_cpu.so"
                if lib.exists():
                    env["LD_PRELOAD"] = ":".join(filter(None, [str(lib), env.get("LD_PRELOAD")]))
        return env


def deepmd_potential(model: str | os.PathLike, name: str | None = None) -> Potential:
    """A frozen or compressed DeePMD model (``.pth``) for ``pair_style deepmd``."""
    model = Path(model).resolve()
    if not model.is_file():
        raise FileNotFoundError(f"{model}: no such DeePMD model")
    type_map = _deepmd_type_map(model)
    return Potential(name or model.stem, f"deepmd {model}", type_map, [model], kind="deepmd")


def _deepmd_type_map(model: Path) -> list[str]:
    from deepmd.infer import DeepPot

    return list(DeepPot(str(model)).get_type_map())


def bundled_potential(name: str | None = None, compressed: bool = False) -> Potential:
    """The bundled DeePMD potential (see :mod:`ionscope.potential.bundled`)."""
    from ..potential.bundled import DEFAULT, bundled_model

    name = name or DEFAULT
    return deepmd_potential(bundled_model(name, compressed=compressed),
                            name=f"{name}{'-compressed' if compressed else ''}")
