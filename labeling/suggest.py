"""Candidate keywords for an area: n-grams frequent in its papers (those the label model gives it or, for a new
area, those nearest to its description), rare elsewhere, reaching uncovered papers."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer

from labeling.label_model import covered
from labeling.lfs import text_of
from labeling.taxonomy import Area, Taxonomy
from labeling.terms import Term, compile_term

COLUMNS = ["term", "in_area", "elsewhere", "precision", "uncovered_reach", "score"]
BASES = ("auto", "votes", "description")
NEAREST_PAPERS = 50  # papers taken as an area's own when its description stands for it


def suggest_keywords(frame: pd.DataFrame, L: np.ndarray, proba: np.ndarray, taxonomy: Taxonomy, area: str,
                     top: int = 20, min_papers: int = 3, basis: str = "auto",
                     nearest: int = NEAREST_PAPERS) -> pd.DataFrame:
    """Up to `top` 1-3-grams for `area` (slug or name), best first; `table.attrs["basis"]` says whose papers.

    The area's papers: with `basis="votes"`, the covered papers whose most probable area (`proba`) it is, compared
    with the other covered papers; with `basis="description"`, the `nearest` papers closest to the area's name and
    description (TF-IDF cosine), compared with all the others; `"auto"` takes the votes unless they give the area
    fewer than `min_papers` papers. `in_area` / `elsewhere`: papers of each side containing the term; `precision`
    = in_area / (in_area + elsewhere); `score` = share of the area's papers containing the term x log(precision /
    the area's share of the compared papers). Terms that the area's keywords already match, or that are part of a
    keyword, are left out; `uncovered_reach` counts papers without any vote that the term would match.
    """
    if basis not in BASES:
        raise ValueError(f"basis: must be one of {', '.join(BASES)}")
    k = taxonomy.index(area)
    texts = [f"{text_of(title)}\n{text_of(abstract)}"
             for title, abstract in zip(frame["title"], frame["abstract"], strict=True)]
    is_covered = covered(L)
    in_area = is_covered & (np.asarray(proba).argmax(axis=1) == k)
    compared = is_covered
    if basis == "description" or (basis == "auto" and in_area.sum() < min_papers):
        basis = "description"
        in_area = nearest_to_description(texts, taxonomy.areas[k], nearest)
        compared = np.ones(len(texts), dtype=bool)
    else:
        basis = "votes"
    table = _rank_terms(texts, in_area, compared & ~in_area, taxonomy.areas[k], min_papers, top).reset_index(drop=True)
    uncovered = [text for text, keep in zip(texts, is_covered, strict=True) if not keep]
    table["uncovered_reach"] = [sum(compile_term(term).search(text) for text in uncovered) for term in table["term"]]
    table = table[COLUMNS]
    table.attrs["basis"] = basis
    return table


def nearest_to_description(texts: list[str], area: Area, n: int) -> np.ndarray:
    """Mask of the `n` texts most similar (TF-IDF cosine, word 1-2-grams) to the area's name and description."""
    if not texts:
        return np.zeros(0, dtype=bool)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
    papers = vectorizer.fit_transform(texts)
    query = vectorizer.transform([f"{area.name}. {area.description}"])
    similarity = (papers @ query.T).toarray().ravel()
    chosen = np.zeros(len(texts), dtype=bool)
    chosen[np.argsort(-similarity, kind="stable")[:n]] = True
    return chosen & (similarity > 0)


def _rank_terms(texts: list[str], in_area: np.ndarray, elsewhere: np.ndarray, area: Area, min_papers: int,
                top: int) -> pd.DataFrame:
    """The `top` candidate n-grams of the area's papers with in_area, elsewhere, precision and score, best first."""
    n_in = int(in_area.sum())
    if not n_in:
        return pd.DataFrame(columns=[column for column in COLUMNS if column != "uncovered_reach"])
    vectorizer = CountVectorizer(ngram_range=(1, 3), binary=True, min_df=min(min_papers, n_in))
    vectorizer.fit([text for text, keep in zip(texts, in_area, strict=True) if keep])
    counts = vectorizer.transform(texts)
    table = pd.DataFrame({
        "term": vectorizer.get_feature_names_out(),
        "in_area": np.asarray(counts[in_area].sum(axis=0)).ravel(),
        "elsewhere": np.asarray(counts[elsewhere].sum(axis=0)).ravel(),
    })
    table["precision"] = table["in_area"] / (table["in_area"] + table["elsewhere"])
    base_rate = n_in / (n_in + int(elsewhere.sum()))
    table["score"] = table["in_area"] / n_in * np.log(table["precision"] / base_rate)
    own_terms = [term for group in area.keywords for term in group.terms]
    table = table[table["score"] > 0].sort_values(["score", "term"], ascending=[False, True])
    kept = (i for i, term in zip(table.index, table["term"], strict=True)
            if _is_candidate(term) and not _overlaps(term, own_terms))
    return table.loc[list(islice(kept, top))]


def _overlaps(ngram: str, terms: list[Term]) -> bool:
    """Whether a keyword matches the n-gram, or the n-gram (as a phrase) matches a keyword's text."""
    phrase = compile_term(ngram)
    return any(term.search(ngram) or phrase.search(term.text) for term in terms)


def _is_candidate(ngram: str) -> bool:
    """An n-gram that neither starts nor ends with a stop word or a number."""
    words = ngram.split()
    return not any(word in ENGLISH_STOP_WORDS or word.isdigit() for word in (words[0], words[-1]))
