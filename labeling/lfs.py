"""Keyword labelling functions: one per keyword group, voting its area or abstaining."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snorkel.labeling import LabelingFunction

from labeling.taxonomy import KeywordGroup, Taxonomy
from labeling.terms import Term

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

    def vote(self, title: Any, abstract: Any) -> int:
        values = {"title": title, "abstract": abstract}
        texts = [text_of(values[key]) for key in self.fields]
        if _any_match(self.group.terms, texts) and not _any_match(self.group.negative, texts):
            return self.area
        return ABSTAIN

    def to_snorkel(self) -> LabelingFunction:
        """The same LF as a Snorkel LabelingFunction over rows with `.title` and `.abstract`."""
        return LabelingFunction(self.name, f=lambda row: self.vote(row.title, row.abstract))


def _any_match(terms: tuple[Term, ...], texts: list[str]) -> bool:
    return any(term.search(text) for term in terms for text in texts)


def keyword_lfs(taxonomy: Taxonomy) -> list[KeywordLF]:
    """One LF per keyword group, named "<slug>:<group>", in taxonomy order."""
    return [
        KeywordLF(name=f"{area.slug}:{group.group}", area=i, group=group)
        for i, area in enumerate(taxonomy.areas)
        for group in area.keywords
    ]
