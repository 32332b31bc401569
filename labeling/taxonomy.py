"""The taxonomy YAML: research areas with keyword groups; a pydantic schema validates it on load, with one-line errors
naming the file and the key path (`areas[3].keywords[0].terms[2]`)."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StrictStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic import dataclasses as schema

from labeling.terms import Term, compile_term
from paper_areas.core import UserError, read_utf8

MIN_AREAS = 2
SLUG_RULE = "lowercase letters, digits, - and _"  # letters and digits of any script


class TaxonomyError(UserError):
    """A taxonomy file that cannot be used; the message names the file and the key path."""


class _Invalid(ValueError):
    """A problem at `loc`, below the value being validated (e.g. the slug of its third area)."""

    def __init__(self, loc: tuple[str | int, ...], problem: str) -> None:
        super().__init__(problem)
        self.loc = loc


def is_slug(text: str) -> bool:
    """Whether `text` follows SLUG_RULE."""
    return re.fullmatch(r"[\w-]+", text) is not None and text == text.lower()


def _slug(text: str) -> str:
    if not is_slug(text):
        raise ValueError(f"{text!r} must be {SLUG_RULE}")
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _at_least(count: int, what: str) -> AfterValidator:
    """A check that a list holds at least `count` items (`what` says which)."""

    def check(items: tuple) -> tuple:
        if len(items) < count:
            raise ValueError(f"must list at least {what}" + (f", not {len(items)}" if count > 1 else ""))
        return items

    return AfterValidator(check)


def _distinct(key: str) -> AfterValidator:
    """A check that no two items of a list have the same `key`."""

    def check(items: tuple) -> tuple:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if (value := getattr(item, key)) in seen:
                raise _Invalid((i, key), f"duplicate {value!r}")
            seen.add(value)
        return items

    return AfterValidator(check)


def _term(text: Any) -> Term:
    if not isinstance(text, str):
        raise ValueError(f"must be a string, not {type(text).__name__}")
    try:
        return compile_term(text)
    except (ValueError, re.error) as error:
        raise ValueError(f"bad term {text!r}: {error}") from None


def _number(rule: str, valid: Callable[[float], bool]) -> BeforeValidator:
    """A check that a value is a number for which `valid` holds (NaN fails every rule), `rule` saying what it is."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, not {type(value).__name__}")
        if not valid(value):
            raise ValueError(f"must be {rule}, got {value!r}")
        return float(value)

    return BeforeValidator(check)


Text = Annotated[StrictStr, AfterValidator(_not_blank)]
Terms = tuple[Annotated[Term, PlainValidator(_term)], ...]
_SCHEMA = ConfigDict(extra="forbid")


@schema.dataclass(frozen=True, config=_SCHEMA)
class KeywordGroup:
    """One labelling function: votes its area when a term matches (and no `negative` term does) in `scope`."""

    group: Text
    terms: Annotated[Terms, _at_least(1, "one term")]
    scope: Literal["title", "abstract", "either"] = "either"
    negative: Terms = ()


@schema.dataclass(frozen=True, config=_SCHEMA)
class EmbeddingLFSpec:
    """One kind of embedding LF (one LF per area): vote the area whose anchor is nearest by `margin`.

    `centroid` anchors are the mean embeddings of the papers the keyword LFs label with confidence at least
    `min_confidence`; `description` anchors are the embeddings of the area descriptions.
    """

    kind: Literal["centroid", "description"]
    margin: Annotated[float, _number("0 <= margin < 2", lambda value: 0 <= value < 2)] = 0.02
    min_confidence: Annotated[float, _number("0 < min_confidence <= 1", lambda value: 0 < value <= 1)] = 0.7

    @model_validator(mode="before")
    @classmethod
    def _min_confidence_of_a_centroid(cls, fields: Any) -> Any:
        if isinstance(fields, dict) and fields.get("kind") != "centroid" and "min_confidence" in fields:
            raise _Invalid(("min_confidence",), "only a centroid LF has a min_confidence")
        return fields


@schema.dataclass(frozen=True, config=_SCHEMA)
class Area:
    slug: Annotated[StrictStr, AfterValidator(_slug)]
    name: Text
    description: Text
    keywords: Annotated[tuple[KeywordGroup, ...], _at_least(1, "one keyword group"), _distinct("group")]


@schema.dataclass(frozen=True, config=_SCHEMA)
class Taxonomy:
    name: StrictStr
    areas: Annotated[tuple[Area, ...], _at_least(MIN_AREAS, f"{MIN_AREAS} areas to tell apart"), _distinct("slug"),
                     _distinct("name")]
    description: StrictStr = ""
    embedding_lfs: Annotated[tuple[EmbeddingLFSpec, ...], _distinct("kind")] = ()
    path: Path | None = dataclasses.field(default=None, init=False, compare=False)  # the file it was read from

    @property
    def slugs(self) -> list[str]:
        return [area.slug for area in self.areas]

    @property
    def names(self) -> list[str]:
        return [area.name for area in self.areas]

    def index(self, name_or_slug: str) -> int:
        """Position of the area with this name or slug (as written, else ignoring case and repeated spaces, as a
        person types it); KeyError naming the known slugs otherwise."""
        for i, area in enumerate(self.areas):
            if name_or_slug in (area.name, area.slug):
                return i
        typed = " ".join(name_or_slug.split()).casefold()
        for i, area in enumerate(self.areas):
            if typed in (area.name.casefold(), area.slug):
                return i
        raise KeyError(f"no area {name_or_slug!r} in taxonomy {self.name!r}; slugs: {', '.join(self.slugs)}")


_TAXONOMY = TypeAdapter(Taxonomy)
_TYPE_NAMES = {"string_type": "a str", "tuple_type": "a list", "dataclass_type": "a mapping"}


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
    try:
        taxonomy = _TAXONOMY.validate_python(document)
    except ValidationError as error:
        raise TaxonomyError(_one_line(error.errors(include_url=False)[0])) from None
    object.__setattr__(taxonomy, "path", path)  # frozen: set once, by what read it
    return taxonomy


def _one_line(error: dict[str, Any]) -> str:
    """`key path: problem` for the first error pydantic found, in this module's words."""
    kind, value, loc = error["type"], error["input"], error["loc"]
    problem = error["msg"]  # pydantic's words for anything not foreseen below
    if kind == "missing":
        problem = "missing required key"
    elif kind == "unexpected_keyword_argument":
        allowed = [field.name for field in dataclasses.fields(_schema_at(loc[:-1])) if field.init]
        problem = f"unknown key (allowed: {', '.join(allowed)})"
    elif kind == "literal_error":
        problem = f"must be one of {', '.join(typing.get_args(_schema_at(loc)))}, not {value!r}"
    elif kind in _TYPE_NAMES:
        problem = f"must be {_TYPE_NAMES[kind]}, not {type(value).__name__}"
    elif kind == "value_error":
        invalid = error["ctx"]["error"]
        loc, problem = (*loc, *getattr(invalid, "loc", ())), str(invalid)
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).removeprefix(".")
    return f"{path or 'taxonomy'}: {problem}"


def _schema_at(loc: tuple[str | int, ...]) -> Any:
    """The type of the value at `loc` in a taxonomy document (a schema class for a mapping)."""
    here: Any = Taxonomy
    for part in loc:
        here = typing.get_args(here)[0] if isinstance(part, int) else here.__pydantic_fields__[part].annotation
    return here
