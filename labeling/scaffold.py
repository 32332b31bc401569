"""A first taxonomy YAML from a table of area names and descriptions, to grow with `train.py suggest`."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import yaml

from labeling.taxonomy import TaxonomyError, parse_taxonomy

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
HEADER = """\
# Taxonomy {name!r}, scaffolded by `train.py init-taxonomy` from {source}.
# Each area has a slug (used in predictions), the exact name gold files use, a description (used by
# `train.py suggest` before any keyword matches, and by embedding LFs), and keyword groups: each group is one
# labelling function that votes its area when a term matches (and no `negative` term does) in its scope
# (title, abstract or either). Terms are phrases (case-insensitive, whole words) or "re:" regexes.
# Next: `train.py suggest --taxonomy THIS --dumps ... --area SLUG`, add the good terms, check with `train.py lfs`.
"""


def read_area_table(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV with columns `name` and `description` (and optionally `slug`); errors name file and line."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
            columns = {column.strip().casefold() for column in reader.fieldnames or []}
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        reason = getattr(error, "strerror", None) or error
        raise TaxonomyError(f"{path}: cannot read the area table: {reason}") from None
    if not {"name", "description"} <= columns:
        raise TaxonomyError(f"{path}:1: the area table needs a header with columns name and description")
    areas = []
    for line, row in enumerate(rows, 2):
        row = {key.strip().casefold(): (value or "").strip() for key, value in row.items() if key}
        if not row["name"] or not row["description"]:
            raise TaxonomyError(f"{path}:{line}: an area needs a name and a description")
        areas.append({"slug": row.get("slug") or slugify(row["name"]), "name": row["name"],
                      "description": row["description"]})
    if not areas:
        raise TaxonomyError(f"{path}: the area table lists no area")
    return areas


def slugify(name: str) -> str:
    """`Computer Vision (2D)` -> `computer-vision-2d`."""
    return _NOT_SLUG.sub("-", name.casefold()).strip("-")[:40].strip("-") or "area"


def scaffold_taxonomy(name: str, areas: list[dict[str, str]], source: str = "an area table") -> str:
    """The YAML text of a taxonomy whose areas have one keyword group each: the area's name as a phrase.

    The result is validated as a taxonomy (duplicate slugs or names raise TaxonomyError naming the area).
    """
    document = {
        "name": name,
        "description": f"{len(areas)} areas",
        "areas": [{**area, "keywords": [{"group": "name", "terms": [area["name"]]}]} for area in areas],
    }
    parse_taxonomy(document)
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    return HEADER.format(name=name, source=source) + body
