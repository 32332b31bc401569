"""A first taxonomy YAML from a table of area names and descriptions, to grow with `train.py suggest`."""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path

import yaml

from labeling.taxonomy import MIN_AREAS, SLUG_RULE, TaxonomyError, is_slug, parse_taxonomy
from paper_areas.core import read_utf8

_NOT_SLUG = re.compile(r"[\W_]+")
HEADER = """\
# Taxonomy {name!r}, scaffolded by `train.py init-taxonomy` from {source}.
# Each area has a slug (used in predictions), the exact name gold files use, a description (used by
# `train.py suggest` before any keyword matches, and by embedding LFs), and keyword groups: each group is one
# labelling function that votes its area when a term matches (and no `negative` term does) in its scope
# (title, abstract or either). Terms are phrases (case-insensitive, whole words) or "re:" regexes.
# Next: `train.py suggest --taxonomy THIS --dumps ... --area SLUG`, add the good terms, check with `train.py lfs`.
"""


def read_area_table(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV with columns `name` and `description` (and optionally `slug`), at least MIN_AREAS of them with
    distinct names and slugs (a slug not given is made from the name, distinct from the others); errors name file
    and line."""
    text = read_utf8(path, TaxonomyError).removeprefix("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, dict[str, str]]] = []  # (line, row)
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as error:
        line = (rows[-1][0] if rows else 1) + 1  # where the bad row starts
        raise TaxonomyError(f"{path}:{line}: cannot read the area table: {error}") from None
    if not {"name", "description"} <= {column.strip().casefold() for column in reader.fieldnames or []}:
        raise TaxonomyError(f"{path}:1: the area table needs a header with columns name and description")
    areas, seen = [], {}
    for line, row in rows:
        row = {key.strip().casefold(): (value or "").strip() for key, value in row.items() if key}
        if not row["name"] or not row["description"]:
            raise TaxonomyError(f"{path}:{line}: an area needs a name and a description")
        if row.get("slug") and not is_slug(row["slug"]):
            raise TaxonomyError(f"{path}:{line}: slug {row['slug']!r} must be {SLUG_RULE}")
        for key, value in (("name", row["name"]), ("slug", row.get("slug"))):
            if value and (key, value) in seen:
                raise TaxonomyError(f"{path}:{line}: {key} {value!r} is already that of line {seen[key, value]}")
            seen[key, value] = line
        areas.append({"slug": row.get("slug", ""), "name": row["name"], "description": row["description"]})
    if len(areas) < MIN_AREAS:
        raise TaxonomyError(f"{path}: a taxonomy needs at least {MIN_AREAS} areas, the area table lists {len(areas)}")
    taken = {area["slug"] for area in areas}
    for area in areas:
        if not area["slug"]:
            area["slug"] = _distinct(slugify(area["name"]), taken)
            taken.add(area["slug"])
    return areas


def _distinct(slug: str, taken: set[str]) -> str:
    """`slug`, or `slug-2`, `slug-3`... when it is taken."""
    return next(candidate for number in itertools.count(1)
                if (candidate := slug if number == 1 else f"{slug}-{number}") not in taken)


def slugify(name: str) -> str:
    """`Computer Vision (2D)` -> `computer-vision-2d`, `Машинное обучение` -> `машинное-обучение`: lowercase
    letters and digits of any script, runs of anything else one `-`."""
    return _NOT_SLUG.sub("-", name.casefold()).strip("-")[:40].strip("-") or "area"


def scaffold_taxonomy(name: str, areas: list[dict[str, str]], source: str = "an area table") -> str:
    """The YAML text of a taxonomy whose areas have one keyword group each, the area's name as a phrase; validated
    (a problem raises TaxonomyError naming `source` and the area)."""
    document = {
        "name": name,
        "description": f"{len(areas)} areas",
        "areas": [{**area, "keywords": [{"group": "name", "terms": [area["name"]]}]} for area in areas],
    }
    try:
        parse_taxonomy(document)
    except TaxonomyError as error:
        raise TaxonomyError(f"{source}: {error}") from None
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    return HEADER.format(name=name, source=source) + body
