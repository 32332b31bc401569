"""The source a logged model or a Spark worker runs: `labeling`, `models` and `paper_areas.core`, which import
nothing else of the project (tests/test_packaging.py loads a model and runs a worker from this code alone)."""

from __future__ import annotations

import shutil
from pathlib import Path

from paper_areas.core.environment import REPO

SHIPPED = ("labeling", "models", "paper_areas/__init__.py", "paper_areas/core")


def ship_code(folder: Path) -> list[Path]:
    """Copy the shipped source (Python files only) into `folder`; returns its top-level entries (`code_paths`)."""
    for entry in SHIPPED:
        source = REPO / entry
        for path in [source] if source.is_file() else sorted(source.rglob("*.py")):
            target = folder / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return sorted(folder.iterdir())
