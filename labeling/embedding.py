"""Embedding labelling functions: per area, vote the area when a paper's embedding is nearest to its anchor (see
EmbeddingLFSpec); they take unit-length embedding matrices (numpy) made elsewhere, so labeling/ needs no model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labeling.lfs import ABSTAIN
from labeling.taxonomy import Taxonomy


@dataclass(frozen=True)
class EmbeddingLF:
    """One area's LF of one kind, named "<slug>:<kind>"; its votes come from `EmbeddingLFs.apply`."""

    name: str
    area: int
    kind: str


def centroid_anchors(embeddings: np.ndarray, label_proba: np.ndarray, min_confidence: float) -> np.ndarray:
    """(K, D) unit-length mean embedding per area of the papers whose top label probability is at least
    `min_confidence`; NaN rows for areas without such a paper."""
    embeddings, label_proba = np.asarray(embeddings, dtype=float), np.asarray(label_proba, dtype=float)
    if len(embeddings) != len(label_proba):
        raise ValueError(f"{len(embeddings)} embeddings but {len(label_proba)} label rows")
    confident = label_proba.max(axis=1) >= min_confidence
    labels = label_proba.argmax(axis=1)
    anchors = np.full((label_proba.shape[1], embeddings.shape[1]), np.nan)
    for area in range(label_proba.shape[1]):
        members = confident & (labels == area)
        if members.any():
            anchors[area] = _unit(embeddings[members].mean(axis=0))
    return anchors


def nearest_anchor(embeddings: np.ndarray, anchors: np.ndarray, margin: float) -> np.ndarray:
    """Index of each paper's most similar anchor (cosine), ABSTAIN when it leads the runner-up by less than
    `margin`; NaN anchors are never nearest."""
    similarities = np.asarray(embeddings, dtype=float) @ np.nan_to_num(anchors, nan=0.0).T
    similarities[:, np.isnan(anchors).any(axis=1)] = -np.inf
    if similarities.shape[1] < 2:
        raise ValueError("nearest-anchor LFs need at least two areas")
    top_two = -np.partition(-similarities, 1, axis=1)[:, :2]
    nearest = similarities.argmax(axis=1)
    return np.where(top_two[:, 0] - top_two[:, 1] >= margin, nearest, ABSTAIN)


class EmbeddingLFs:
    """The embedding LFs a taxonomy declares (`embedding_lfs:`), one per area and kind, in declaration order."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy

    @property
    def lfs(self) -> list[EmbeddingLF]:
        """One LF per kind and area, named "<slug>:<kind>"."""
        return [EmbeddingLF(f"{area.slug}:{spec.kind}", k, spec.kind)
                for spec in self.taxonomy.embedding_lfs for k, area in enumerate(self.taxonomy.areas)]

    def fit(self, embeddings: np.ndarray | None = None, label_proba: np.ndarray | None = None,
            description_embeddings: np.ndarray | None = None) -> EmbeddingLFs:
        """Anchors of each kind: training-paper `embeddings` with their keyword `label_proba` for centroids,
        the (K, D) `description_embeddings` (in area order) for descriptions."""
        n_areas = len(self.taxonomy.areas)
        self.anchors_: dict[str, np.ndarray] = {}
        for spec in self.taxonomy.embedding_lfs:
            if spec.kind == "centroid":
                if embeddings is None or label_proba is None:
                    raise ValueError("centroid LFs need the training embeddings and their keyword label_proba")
                self.anchors_[spec.kind] = centroid_anchors(embeddings, label_proba, spec.min_confidence)
            else:
                if description_embeddings is None or len(description_embeddings) != n_areas:
                    raise ValueError(f"description LFs need {n_areas} description embeddings")
                self.anchors_[spec.kind] = np.asarray(description_embeddings, dtype=float)
        return self

    def apply(self, embeddings: np.ndarray) -> np.ndarray:
        """The (N, K * kinds) vote matrix: column "<slug>:<kind>" votes its area or abstains (-1)."""
        columns = []
        areas = np.arange(len(self.taxonomy.areas))
        for spec in self.taxonomy.embedding_lfs:
            nearest = nearest_anchor(embeddings, self.anchors_[spec.kind], spec.margin)
            columns.append(np.where(nearest[:, None] == areas[None, :], areas[None, :], ABSTAIN))
        return np.concatenate(columns, axis=1) if columns else np.full((len(embeddings), 0), ABSTAIN)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
