"""The taxonomy YAML: research areas with keyword groups, validated on load with errors naming the key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labeling.terms import Term, compile_term
from paper_areas.core import UserError, read_utf8

SCOPES = ("title", "abstract", "either")
EMBEDDING_LF_KINDS = ("centroid", "description")
MIN_AREAS = 2
SLUG_RULE = "lowercase letters, digits, - and _"  # letters and digits of any script


class TaxonomyError(UserError):
    """A taxonomy file that cannot be used; the message names the file and the key path."""


@dataclass(frozen=True)
class KeywordGroup:
    group: str
    scope: str
    terms: tuple[Term, ...]
    negative: tuple[Term, ...] = ()


@dataclass(frozen=True)
class EmbeddingLFSpec:
    """One kind of embedding LF (one LF per area): vote the area whose anchor is nearest by `margin`.

    `centroid` anchors are the mean embeddings of the papers the keyword LFs label with confidence at least
    `min_confidence`; `description` anchors are the embeddings of the area descriptions.
    """

    kind: str
    margin: float = 0.02
    min_confidence: float = 0.7


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    description: str
    keywords: tuple[KeywordGroup, ...]


@dataclass(frozen=True)
class Taxonomy:
    name: str
    description: str
    areas: tuple[Area, ...]
    path: Path | None = None
    embedding_lfs: tuple[EmbeddingLFSpec, ...] = ()

    @property
    def slugs(self) -> list[str]:
        return [area.slug for area in self.areas]

    @property
    def names(self) -> list[str]:
        return [area.name for area in self.areas]

    def index(self, name_or_slug: str) -> int:
        """Position of the area with this name or slug; KeyError naming the known slugs otherwise."""
        for i, area in enumerate(self.areas):
            if name_or_slug in (area.name, area.slug):
                return i
        raise KeyError(f"no area {name_or_slug!r} in taxonomy {self.name!r}; slugs: {', '.join(self.slugs)}")


def is_slug(text: str) -> bool:
    """Whether `text` follows SLUG_RULE."""
    return re.fullmatch(r"[\w-]+", text) is not None and text == text.lower()


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate a taxonomy YAML file; raises TaxonomyError naming the file and the bad key."""
    path = Path(path)
    try:
        document = yaml.safe_load(read_utf8(path, TaxonomyError))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise TaxonomyError(f"{where}: not valid YAML: {getattr(error, 'problem', None) or error}") from None
    try:
        return parse_taxonomy(document, path)
    except TaxonomyError as error:
        raise TaxonomyError(f"{path}: {error}") from None


def parse_taxonomy(document: Any, path: Path | None = None) -> Taxonomy:
    """Validate an already-parsed taxonomy document (errors name the key path, e.g. `areas[3].slug`)."""
    top = _mapping(document, "", required={"name": str, "areas": list},
                   optional={"description": str, "embedding_lfs": list})
    if len(top["areas"]) < MIN_AREAS:
        raise TaxonomyError(f"areas: must list at least {MIN_AREAS} areas to tell apart, not {len(top['areas'])}")
    areas = tuple(_area(item, f"areas[{i}]") for i, item in enumerate(top["areas"]))
    for key in ("slug", "name"):
        _unique([getattr(area, key) for area in areas], lambda i, key=key: f"areas[{i}].{key}")
    specs = tuple(_embedding_lf(item, f"embedding_lfs[{i}]") for i, item in enumerate(top.get("embedding_lfs", [])))
    _unique([spec.kind for spec in specs], lambda i: f"embedding_lfs[{i}].kind")
    return Taxonomy(name=top["name"], description=top.get("description", ""), areas=areas, path=path,
                    embedding_lfs=specs)


def _embedding_lf(item: Any, where: str) -> EmbeddingLFSpec:
    fields = _mapping(item, where, required={"kind": str}, optional={"margin": object, "min_confidence": object})
    kind = fields["kind"]
    if kind not in EMBEDDING_LF_KINDS:
        raise TaxonomyError(f"{where}.kind: must be one of {', '.join(EMBEDDING_LF_KINDS)}, not {kind!r}")
    if kind != "centroid" and "min_confidence" in fields:
        raise TaxonomyError(f"{where}.min_confidence: only a centroid LF has a min_confidence")
    defaults = EmbeddingLFSpec(kind)
    margin = _number(fields.get("margin", defaults.margin), f"{where}.margin", "0 <= margin < 2",
                     lambda value: 0 <= value < 2)
    min_confidence = _number(fields.get("min_confidence", defaults.min_confidence), f"{where}.min_confidence",
                             "0 < min_confidence <= 1", lambda value: 0 < value <= 1)
    return EmbeddingLFSpec(kind, margin, min_confidence)


def _number(value: Any, where: str, rule: str, valid: Callable[[float], bool]) -> float:
    """A number for which `valid` holds; TaxonomyError naming `where` and the `rule` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TaxonomyError(f"{where}: must be a number, not {type(value).__name__}")
    if not valid(value):  # NaN fails every rule
        raise TaxonomyError(f"{where}: must be {rule}, got {value!r}")
    return float(value)


def _area(item: Any, where: str) -> Area:
    fields = _mapping(item, where, required={"slug": str, "name": str, "description": str, "keywords": list})
    if not is_slug(fields["slug"]):
        raise TaxonomyError(f"{where}.slug: {fields['slug']!r} must be {SLUG_RULE}")
    for key in ("name", "description"):
        if not fields[key].strip():
            raise TaxonomyError(f"{where}.{key}: must not be empty")
    if not fields["keywords"]:
        raise TaxonomyError(f"{where}.keywords: must list at least one keyword group")
    groups = tuple(_group(group, f"{where}.keywords[{i}]") for i, group in enumerate(fields["keywords"]))
    _unique([group.group for group in groups], lambda i: f"{where}.keywords[{i}].group")
    return Area(fields["slug"], fields["name"], fields["description"], groups)


def _group(item: Any, where: str) -> KeywordGroup:
    fields = _mapping(item, where, required={"group": str, "terms": list},
                      optional={"scope": str, "negative": list})
    if not fields["group"].strip():
        raise TaxonomyError(f"{where}.group: must not be empty")
    scope = fields.get("scope", "either")
    if scope not in SCOPES:
        raise TaxonomyError(f"{where}.scope: must be one of {', '.join(SCOPES)}")
    if not fields["terms"]:
        raise TaxonomyError(f"{where}.terms: must list at least one term")
    return KeywordGroup(
        group=fields["group"],
        scope=scope,
        terms=_terms(fields["terms"], f"{where}.terms"),
        negative=_terms(fields.get("negative", []), f"{where}.negative"),
    )


def _terms(items: list, where: str) -> tuple[Term, ...]:
    terms = []
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TaxonomyError(f"{where}[{i}]: must be a string, not {type(text).__name__}")
        try:
            terms.append(compile_term(text))
        except (ValueError, re.error) as error:
            raise TaxonomyError(f"{where}[{i}]: bad term {text!r}: {error}") from None
    return tuple(terms)


def _mapping(item: Any, where: str, required: dict[str, type], optional: dict[str, type] | None = None) -> dict:
    """Check `item` is a mapping with exactly the required keys, some optional ones, each of its type."""
    if not isinstance(item, dict):
        raise TaxonomyError(f"{where or 'taxonomy'}: must be a mapping, not {type(item).__name__}")
    allowed = {**required, **(optional or {})}
    for key in item:
        if key not in allowed:
            raise TaxonomyError(f"{_key(where, key)}: unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in item:
            raise TaxonomyError(f"{_key(where, key)}: missing required key")
    for key, value in item.items():
        if not isinstance(value, allowed[key]):
            raise TaxonomyError(f"{_key(where, key)}: must be a {allowed[key].__name__}, not {type(value).__name__}")
    return item


def _key(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def _unique(values: list[str], where: Any) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise TaxonomyError(f"{where(i)}: duplicate {value!r}")
        seen.add(value)
