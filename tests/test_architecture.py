"""Issue 27: the packages form layers, each importing only the layers below it (so the code a logged model ships,
labeling/, models/ and paper_areas/core, imports nothing else of the project), and few top-level names are
installed. Entry points (train.py, predict.py, `__main__` modules) stand on top of every layer."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Bottom to top; a package may import its own modules and the packages of lower layers.
LAYERS = (
    ("paper_areas.core",),
    ("labeling",),
    ("models",),
    ("paper_areas.dumps", "paper_areas.tracking", "paper_areas.hand_labels"),
    ("paper_areas.pipeline",),
    ("paper_areas.prediction",),
)
LAYER_OF = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def package_of(module: str) -> str | None:
    """The layered package holding `module` (the longest matching prefix), None outside the project."""
    matches = [package for package in LAYER_OF if module == package or module.startswith(package + ".")]
    return max(matches, key=len, default=None)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (function-level imports included), as absolute names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the files where that happens, across the layered packages."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(REPO.glob("*/**/*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        importer = package_of(module)
        if importer is None or path.stem == "__main__":  # `python -m` entry points: the top, like train.py
            continue
        for imported in filter(None, map(package_of, imports_of(path))):
            if imported != importer:
                edges.setdefault((importer, imported), []).append(str(path.relative_to(REPO)))
    return edges


def test_every_package_imports_only_lower_layers():
    edges = package_imports()
    upward = {edge: files for edge, files in edges.items() if LAYER_OF[edge[1]] >= LAYER_OF[edge[0]]}
    assert not upward, f"imports that do not go down a layer: {upward}"
    # The check sees real edges: the top layer reaches down to the bottom one.
    assert ("paper_areas.pipeline", "labeling") in edges and ("models", "paper_areas.core") in edges


def test_the_installed_top_level_names_are_few_and_specific():
    found = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    top_level = {pattern.rstrip("*") for pattern in found["include"]}
    assert top_level == {"labeling", "models", "paper_areas"}
    assert all((REPO / name / "__init__.py").is_file() for name in top_level)
