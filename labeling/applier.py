"""A fast applier: the label matrix of keyword LFs, identical to Snorkel's PandasLFApplier.

Regex search dominates the cost, so it runs only where a term can match: an inverted index of each field's
folded tokens gives the papers containing every word of a phrase, and a substring scan the papers containing
a literal that a regex requires. Phrases are then confirmed on the folded text, where `re` can jump to the
first word instead of testing a word boundary at every character.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeling.lfs import ABSTAIN, KeywordLF, text_of
from labeling.terms import WORD, Term, fold

_NONE = np.empty(0, dtype=np.intp)
_SEPARATOR = "\x00"


class _FieldIndex:
    """One text field of N papers, with an inverted index of their folded tokens that are in `vocabulary`."""

    def __init__(self, texts: list[str], vocabulary: set[str]) -> None:
        self.texts = texts
        self.folded = [fold(text) for text in texts]
        self.everything = np.arange(len(texts))
        postings: dict[str, list[int]] = defaultdict(list)
        for i, folded in enumerate(self.folded):
            for token in vocabulary.intersection(WORD.findall(folded)):
                postings[token].append(i)
        self.postings = {token: np.array(ids, dtype=np.intp) for token, ids in postings.items()}
        self._joined = _SEPARATOR.join(self.folded)
        self._starts = np.cumsum([0] + [len(folded) + 1 for folded in self.folded[:-1]])

    def candidates(self, term: Term) -> np.ndarray:
        """Sorted ids of the papers where `term` may match in this field (a superset of the matches)."""
        if term.tokens is not None:
            lists = sorted((self.postings.get(token, _NONE) for token in term.tokens), key=len)
            ids = lists[0]
            for other in lists[1:]:
                ids = np.intersect1d(ids, other, assume_unique=True)
            return ids
        if term.literals is not None and all(_SEPARATOR not in s for s in term.literals):
            pattern = re.compile("|".join(map(re.escape, term.literals)))
            offsets = np.fromiter((m.start() for m in pattern.finditer(self._joined)), dtype=np.intp)
            return np.unique(np.searchsorted(self._starts, offsets, side="right") - 1)
        return self.everything


def apply_lfs(lfs: Sequence[KeywordLF], frame: pd.DataFrame) -> np.ndarray:
    """The (N, M) int label matrix of `lfs` on a frame with `title` and `abstract` (-1 = abstain)."""
    vocabulary = set().union(*(term.tokens or () for lf in lfs for term in lf.group.terms + lf.group.negative))
    fields = sorted({field for lf in lfs for field in lf.fields})
    indexes = {field: _FieldIndex([text_of(v) for v in frame[field]], vocabulary) for field in fields}
    everything = np.arange(len(frame))
    votes = np.full((len(frame), len(lfs)), ABSTAIN, dtype=np.int64)
    for j, lf in enumerate(lfs):
        scope = [indexes[field] for field in lf.fields]
        hits = _matching_any(lf.group.terms, scope, everything)
        if lf.group.negative and len(hits):
            hits = np.setdiff1d(hits, _matching_any(lf.group.negative, scope, hits), assume_unique=True)
        votes[hits, j] = lf.area
    return votes


def _matching_any(terms: Sequence[Term], scope: list[_FieldIndex], among: np.ndarray) -> np.ndarray:
    """Sorted ids in `among` where some term matches in some field of `scope`."""
    hit = np.zeros(len(scope[0].texts), dtype=bool)
    allowed = np.zeros_like(hit)
    allowed[among] = True
    for term in terms:
        for index in scope:
            candidates = index.candidates(term)
            candidates = candidates[allowed[candidates] & ~hit[candidates]]
            found = [term.search_folded(index.texts[i], index.folded[i]) for i in candidates.tolist()]
            hit[candidates[np.array(found, dtype=bool)]] = True
    return np.flatnonzero(hit)
