"""Write a DeePMD-kit (PyTorch) training checkpoint without its optimiser state, small enough to
commit (the paper-size model: 37.6 MB → 12.5 MB), from which ``dp --pt train --restart``
continues at the same step and learning rate with fresh Adam moments.

    python validation/potentials/deepmd-curated/slim_checkpoint.py runs/deepmd-curated/train OUT.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def slim(train_dir: Path, out: Path) -> int:
    """Slim the newest checkpoint of ``train_dir`` (its ``checkpoint`` file) into ``out``;
    returns the step it holds."""
    newest = train_dir / (train_dir / "checkpoint").read_text().strip()
    state = torch.load(newest, map_location="cpu", weights_only=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save({"model": state["model"], "optimizer": None}, tmp)
    tmp.replace(out)
    return int(state["model"]["_extra_state"]["train_infos"]["step"])


if __name__ == "__main__":
    step = slim(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{sys.argv[2]}: step {step}")
