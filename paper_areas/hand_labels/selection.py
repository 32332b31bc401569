"""Which papers to label: representative papers while few labels exist, then papers the model is unsure of, and a
share drawn at random so that the labels also give an unbiased accuracy.

- Representative (TypiClust, Hacohen et al. 2022): the pool is clustered into as many clusters as there will be
  labels; the clusters holding no labelled paper, largest first, each give their most typical paper (the one
  closest, on average, to its nearest neighbours in the cluster). Used until `REPRESENTATIVE_PER_AREA` labels per
  area exist.
- Uncertain: the smallest margin between the served model's two most likely areas, a paper where the end model and
  its teacher disagree counting as `DISAGREEMENT_MARGIN` narrower (Active WeaSuL, ActiveDP: where the views
  disagree); among the `CANDIDATES_PER_PICK` x n most uncertain, one per cluster, so that no two picks say the same.
- Random: `RANDOM_SHARE` of every round, uniformly from the rest.
Papers are compared by their TF-IDF text (reduced by SVD): cheap, and no encoder pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

RANDOM_SHARE = 0.2
REPRESENTATIVE_PER_AREA = 2
DISAGREEMENT_MARGIN = 0.25
CANDIDATES_PER_PICK = 4
NEIGHBOURS = 20
SVD_DIMENSIONS = 100


@dataclass
class Pool:
    """The papers to choose from, as seen by the served model: its (N, K) probabilities and, when it has a teacher,
    where the end model and the teacher disagree (else all False)."""

    probabilities: np.ndarray
    disagree: np.ndarray


def text_features(texts: list[str], seed: int = 0) -> np.ndarray:
    """Unit-length TF-IDF vectors of `texts`, reduced to at most `SVD_DIMENSIONS` dimensions."""
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2 if len(texts) > 50 else 1, stop_words="english")
    matrix = tfidf.fit_transform(texts)
    dimensions = min(SVD_DIMENSIONS, matrix.shape[1] - 1, len(texts) - 1)
    if dimensions < 2:
        return normalize(matrix.toarray())
    return normalize(TruncatedSVD(dimensions, random_state=seed).fit_transform(matrix))


def margins(probabilities: np.ndarray) -> np.ndarray:
    """The gap between each row's two largest probabilities."""
    top_two = np.sort(probabilities, axis=1)[:, -2:]
    return top_two[:, 1] - top_two[:, 0]


def choose(features: np.ndarray, pool: Pool, n: int, n_areas: int, labelled: np.ndarray | None = None,
           random_share: float = RANDOM_SHARE, seed: int = 0) -> pd.DataFrame:
    """Up to `n` rows of `features` (the pool) to label, as a frame of `row` and `chosen_by` (representative,
    uncertain, random), in that order. `labelled`: the features of the papers labelled already (not in the pool)."""
    labelled = np.empty((0, features.shape[1])) if labelled is None else labelled
    n = min(n, len(features))
    n_random = round(random_share * n)
    n_representative = min(n - n_random, max(0, REPRESENTATIVE_PER_AREA * n_areas - len(labelled)))
    representative = typical(features, n_representative, labelled, seed)
    rest = np.setdiff1d(np.arange(len(features)), representative)
    uncertain = rest[most_uncertain(features[rest], pool.probabilities[rest], pool.disagree[rest],
                                    n - n_random - n_representative, seed)]
    rest = np.setdiff1d(rest, uncertain)
    drawn = np.random.default_rng(seed).choice(rest, min(n_random, len(rest)), replace=False)
    parts = {"representative": representative, "uncertain": uncertain, "random": drawn}
    return pd.DataFrame({"row": np.concatenate(list(parts.values())).astype(int),
                         "chosen_by": [name for name, rows in parts.items() for _ in rows]})


def typical(features: np.ndarray, n: int, labelled: np.ndarray, seed: int) -> np.ndarray:
    """`n` rows, the most typical paper of each of the largest clusters without a labelled paper (TypiClust)."""
    if n <= 0:
        return np.empty(0, dtype=int)
    k = min(len(features), n + len(labelled))
    kmeans = KMeans(k, n_init=1, random_state=seed).fit(features)
    clusters = kmeans.labels_
    covered = np.bincount(kmeans.predict(labelled), minlength=k) if len(labelled) else np.zeros(k, dtype=int)
    sizes = np.bincount(clusters, minlength=k)
    order = sorted(range(k), key=lambda c: (covered[c], -sizes[c]))
    return np.array([_most_typical(features, np.flatnonzero(clusters == c)) for c in order[:n]], dtype=int)


def _most_typical(features: np.ndarray, members: np.ndarray) -> int:
    """The member with the smallest mean distance to its `NEIGHBOURS` nearest fellow members."""
    if len(members) <= 2:
        return int(members[0])
    vectors = features[members]
    distances = np.sqrt(np.maximum(2 - 2 * vectors @ vectors.T, 0))  # unit vectors
    k = min(NEIGHBOURS, len(members) - 1)
    nearest = np.partition(distances, k, axis=1)[:, 1 : k + 1]  # column 0 is the paper itself
    return int(members[nearest.mean(axis=1).argmin()])


def most_uncertain(features: np.ndarray, probabilities: np.ndarray, disagree: np.ndarray, n: int,
                   seed: int) -> np.ndarray:
    """`n` rows of small margin (disagreement narrows it), spread: among the `CANDIDATES_PER_PICK * n` most
    uncertain, the most uncertain of each of `n` clusters."""
    if n <= 0:
        return np.empty(0, dtype=int)
    margin = margins(probabilities) - DISAGREEMENT_MARGIN * disagree
    candidates = np.argsort(margin, kind="stable")[: CANDIDATES_PER_PICK * n]
    if len(candidates) <= n:
        return candidates
    clusters = KMeans(n, n_init=1, random_state=seed).fit(features[candidates]).labels_
    picks = [candidates[clusters == c][0] for c in range(n) if (clusters == c).any()]  # candidates are sorted
    return np.array(picks, dtype=int)
