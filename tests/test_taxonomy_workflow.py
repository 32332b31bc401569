"""A new taxonomy from names and descriptions: scaffolding the YAML and suggesting keywords before any exist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from labeling import TaxonomyError, apply_lfs, keyword_lfs, load_taxonomy, parse_taxonomy, suggest_keywords
from labeling.scaffold import read_area_table, scaffold_taxonomy, slugify

AREA_TABLE = """name,description
Quantum widgets,"Widgets built from qubits: entanglement, superconducting circuits and decoherence."
Garden robots,"Robots that tend gardens: weeding, pruning and watering plants."
"""


def test_scaffold_from_an_area_table_loads_as_a_taxonomy(tmp_path: Path) -> None:
    table = tmp_path / "areas.csv"
    table.write_text(AREA_TABLE)
    path = tmp_path / "mine.yaml"
    path.write_text(scaffold_taxonomy("mine", read_area_table(table), table.name))
    taxonomy = load_taxonomy(path)
    assert taxonomy.slugs == ["quantum-widgets", "garden-robots"]
    assert taxonomy.areas[1].description.startswith("Robots that tend gardens")
    assert [[term.text for term in group.terms] for area in taxonomy.areas for group in area.keywords] == [
        ["Quantum widgets"], ["Garden robots"]]
    assert path.read_text().startswith("# Taxonomy 'mine', scaffolded by `train.py init-taxonomy` from areas.csv")


@pytest.mark.parametrize("text, message", [
    ("title,description\nx,y\n", r"areas\.csv:1: the area table needs a header with columns name and description"),
    ("name,description\nx,\n", r"areas\.csv:2: an area needs a name and a description"),
    ("name,description\n", r"areas\.csv: the area table lists no area"),
])
def test_bad_area_tables_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    table = tmp_path / "areas.csv"
    table.write_text(text)
    with pytest.raises(TaxonomyError, match=message):
        read_area_table(table)


def test_duplicate_areas_are_refused_when_scaffolding() -> None:
    with pytest.raises(TaxonomyError, match=r"areas\[1\]\.slug: duplicate 'x-y'"):
        scaffold_taxonomy("t", [{"slug": "x-y", "name": "X y", "description": "d"},
                                {"slug": "x-y", "name": "X-y", "description": "e"}])


def test_slugify() -> None:
    assert slugify("Computer Vision (2D)") == "computer-vision-2d"
    assert slugify("  ~~~ ") == "area"


def _garden_frame() -> pd.DataFrame:
    garden = [f"Pruning shears on a weeding robot, field trial {i}" for i in range(8)]
    quantum = [f"Entanglement in superconducting qubits, device {i}" for i in range(8)]
    other = [f"A survey of databases, part {i}" for i in range(8)]
    return pd.DataFrame({"title": garden + quantum + other, "abstract": [""] * 24})


def test_suggest_works_from_the_description_before_any_keyword_matches(tmp_path: Path) -> None:
    table = tmp_path / "areas.csv"
    table.write_text(AREA_TABLE)
    taxonomy = parse_taxonomy(yaml.safe_load(scaffold_taxonomy("t", read_area_table(table))))
    frame = _garden_frame()
    L = apply_lfs(keyword_lfs(taxonomy), frame)
    assert (L == -1).all()  # the scaffold's name phrases match none of these papers
    proba = np.full((len(frame), 2), 0.5)
    table = suggest_keywords(frame, L, proba, taxonomy, "garden-robots", top=5, nearest=8)
    assert table.attrs["basis"] == "description"
    assert set(table["term"]) & {"pruning shears", "weeding robot", "pruning", "weeding"}
    assert not set(table["term"]) & {"entanglement", "qubits", "databases"}
    assert (table["elsewhere"] == 0).all() and (table["uncovered_reach"] == 8).any()


def test_suggest_uses_the_votes_once_the_area_has_papers() -> None:
    taxonomy = parse_taxonomy({"name": "t", "areas": [
        {"slug": s, "name": s, "description": d, "keywords": [{"group": "g", "terms": [t]}]}
        for s, d, t in [("garden", "plants", "weeding robot"), ("quantum", "qubits", "qubits")]]})
    frame = _garden_frame()
    L = apply_lfs(keyword_lfs(taxonomy), frame)
    proba = np.where(L == -1, 0.0, 1.0) + 0.01
    table = suggest_keywords(frame, L, proba, taxonomy, "garden", top=5)
    assert table.attrs["basis"] == "votes"
    assert "pruning shears" in set(table["term"]) and "weeding robot" not in set(table["term"])
