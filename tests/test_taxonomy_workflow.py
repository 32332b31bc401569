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
    ("name,description\n", r"areas\.csv: a taxonomy needs at least 2 areas, the area table lists 0"),
    ("name,description\nRelevant,What we want.\n", r"areas\.csv: a taxonomy needs at least 2 areas, the area table "
                                                    r"lists 1"),
    ("name,description\nX,x\nY,y\nX,z\n", r"areas\.csv:4: name 'X' is already that of line 2"),
    ("name,slug,description\nX,a,x\nY,a,y\n", r"areas\.csv:3: slug 'a' is already that of line 2"),
    ("name,slug,description\nX,A b,x\nY,b,y\n", r"areas\.csv:2: slug 'A b' must be lowercase letters, digits"),
    ("name,description\nX,x\nY,\"y\n", r"areas\.csv:3: cannot read the area table: unexpected end of data"),
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
    assert slugify("Машинное обучение") == "машинное-обучение" and slugify("计算机视觉") == "计算机视觉"


def test_areas_of_any_script_and_long_names_get_distinct_slugs(tmp_path: Path) -> None:
    long = "Learning representations of very large graphs"
    table = tmp_path / "areas.csv"
    table.write_text(f"name,description\nМашинное обучение,a\nКомпьютерное зрение,b\n计算机视觉,c\n{long} (static),d\n"
                     f"{long} (dynamic),e\nRésumé parsing,f\n", encoding="utf-8")
    taxonomy = parse_taxonomy(yaml.safe_load(scaffold_taxonomy("t", read_area_table(table))))
    assert taxonomy.slugs == ["машинное-обучение", "компьютерное-зрение", "计算机视觉",
                              "learning-representations-of-very-large-g", "learning-representations-of-very-large-g-2",
                              "résumé-parsing"]


def test_an_area_table_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    table = tmp_path / "areas.csv"
    table.write_text("name,description\nVision,Images\nRésumés,Parsing\n", encoding="latin-1")
    with pytest.raises(TaxonomyError, match=r"areas\.csv:3: not UTF-8 text \(byte 0xe9\); save the file as UTF-8$"):
        read_area_table(table)


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
