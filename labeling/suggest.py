"""Candidate keywords for an area: n-grams frequent in its papers, rare elsewhere, reaching uncovered papers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from labeling.label_model import covered
from labeling.lfs import text_of
from labeling.taxonomy import Taxonomy
from labeling.terms import Term, compile_term

COLUMNS = ["term", "in_area", "elsewhere", "precision", "uncovered_reach", "score"]


def suggest_keywords(frame: pd.DataFrame, L: np.ndarray, proba: np.ndarray, taxonomy: Taxonomy, area: str,
                     top: int = 20, min_papers: int = 3) -> pd.DataFrame:
    """Up to `top` 1-3-grams for `area` (slug or name), best first.

    `in_area`: papers given to the area (covered, argmax of `proba`) that contain the term; `elsewhere`: the
    other covered papers that do; `precision` = in_area / (in_area + elsewhere); `score` = share of the
    area's papers containing the term x log(precision / the area's share of covered papers). Terms that the
    area's keywords already match, or that are part of a keyword, are left out; `uncovered_reach` counts
    papers without any vote that the term, used as a phrase, would match in the title or abstract.
    """
    k = taxonomy.index(area)
    texts = [f"{text_of(title)}\n{text_of(abstract)}"
             for title, abstract in zip(frame["title"], frame["abstract"], strict=True)]
    is_covered = covered(L)
    in_area = is_covered & (np.asarray(proba).argmax(axis=1) == k)
    elsewhere = is_covered & ~in_area
    n_in = int(in_area.sum())
    if not n_in:
        return pd.DataFrame(columns=COLUMNS)
    vectorizer = CountVectorizer(ngram_range=(1, 3), binary=True, min_df=min(min_papers, n_in))
    vectorizer.fit([text for text, keep in zip(texts, in_area, strict=True) if keep])
    counts = vectorizer.transform(texts)
    terms = vectorizer.get_feature_names_out()
    table = pd.DataFrame({
        "term": terms,
        "in_area": np.asarray(counts[in_area].sum(axis=0)).ravel(),
        "elsewhere": np.asarray(counts[elsewhere].sum(axis=0)).ravel(),
    })
    table["precision"] = table["in_area"] / (table["in_area"] + table["elsewhere"])
    base_rate = n_in / int(is_covered.sum())
    table["score"] = table["in_area"] / n_in * np.log(table["precision"] / base_rate)
    own_terms = [term for group in taxonomy.areas[k].keywords for term in group.terms]
    table = table[(table["score"] > 0) & table["term"].map(_is_candidate)]
    table = table[~table["term"].map(lambda ngram: _overlaps(ngram, own_terms))]
    table = table.sort_values(["score", "term"], ascending=[False, True]).head(top).reset_index(drop=True)
    uncovered = [text for text, keep in zip(texts, is_covered, strict=True) if not keep]
    table["uncovered_reach"] = [
        sum(compile_term(term).search(text) for text in uncovered) for term in table["term"]
    ]
    return table[COLUMNS]


def _overlaps(ngram: str, terms: list[Term]) -> bool:
    """Whether a keyword matches the n-gram, or the n-gram (as a phrase) matches a keyword's text."""
    phrase = compile_term(ngram)
    return any(term.search(ngram) or phrase.search(term.text) for term in terms)


def _is_candidate(ngram: str) -> bool:
    """An n-gram that neither starts nor ends with a stop word or a number."""
    words = ngram.split()
    return not any(word in ENGLISH_STOP_WORDS or word.isdigit() for word in (words[0], words[-1]))
