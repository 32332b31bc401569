"""Keyword labelling functions: one per keyword group, voting its area or abstaining."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeling.taxonomy import KeywordGroup, Taxonomy

ABSTAIN = -1  # the vote of an LF that does not label a paper, and the prediction of a labeller without votes
FIELDS = {"title": ("title",), "abstract": ("abstract",), "either": ("title", "abstract")}


def text_of(value: Any) -> str:
    """A paper field as text: missing values (None, NaN) are empty."""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class KeywordLF:
    """Votes `area` when a term matches in the scope's fields and no negative term does; else abstains."""

    name: str
    area: int
    group: KeywordGroup

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS[self.group.scope]


def keyword_lfs(taxonomy: Taxonomy) -> list[KeywordLF]:
    """One LF per keyword group, named "<slug>:<group>", in taxonomy order."""
    return [
        KeywordLF(name=f"{area.slug}:{group.group}", area=i, group=group)
        for i, area in enumerate(taxonomy.areas)
        for group in area.keywords
    ]
