"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak resident memory in MB (VmHWM; unlike ru_maxrss it is not
    inherited from the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_results(target: Path, lines: list[str]) -> None:
    """Write a generated table to ``target``, keeping its hand-written ``## Findings`` section."""
    kept = target.read_text().split("## Findings", 1) if target.exists() else []
    findings = "\n## Findings" + kept[1] if len(kept) == 2 else ""
    target.write_text("\n".join(lines) + "\n" + findings)
    print("\n".join(lines))
