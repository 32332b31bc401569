"""Every LF a taxonomy declares, voting: keyword LFs, then embedding LFs anchored on the keyword votes; and the
labeller over all of them, chosen on gold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeling import (
    MIN_LABEL_MODEL_LFS,
    EmbeddingLFs,
    KeywordLF,
    Labeler,
    LabelModelLabeler,
    MajorityVoteLabeler,
    Taxonomy,
    vote_shares,
)
from labeling.embedding import EmbeddingLF
from models import SentenceEncoder, frame_texts
from models.evaluation import Scores, score
from paper_areas.pipeline.config import EmbeddingsConfig, LabelModelConfig


@dataclass
class Votes:
    """The LFs and their (N, M) vote matrices on the training papers and, with gold, on the gold papers."""

    lfs: list[KeywordLF | EmbeddingLF]
    train: np.ndarray
    gold: np.ndarray | None


def add_embedding_lfs(taxonomy: Taxonomy, votes: Votes, frame: pd.DataFrame, gold_frame: pd.DataFrame | None,
                      config: EmbeddingsConfig) -> Votes:
    """`votes` with the taxonomy's embedding LFs appended: centroids of the papers the keyword LFs label clearly
    (their majority-vote share at least the LF's `min_confidence`) and/or the area descriptions' embeddings."""
    encoder = SentenceEncoder(config.model_path, config.max_length, cache_dir=config.cache_dir)
    embeddings = encoder.embed(frame_texts(frame))
    kinds = {spec.kind for spec in taxonomy.embedding_lfs}
    descriptions = encoder.embed([area.description for area in taxonomy.areas]) if "description" in kinds else None
    lfs = EmbeddingLFs(taxonomy).fit(embeddings, vote_shares(votes.train, len(taxonomy.areas)), descriptions)
    gold = None
    if gold_frame is not None:
        gold = np.concatenate([votes.gold, lfs.apply(encoder.embed(frame_texts(gold_frame)))], axis=1)
    return Votes([*votes.lfs, *lfs.lfs], np.concatenate([votes.train, lfs.apply(embeddings)], axis=1), gold)


@dataclass
class LabelerChoice:
    """The labeller whose labels train the end model, every labeller fitted (label model first, when it could be
    fitted), and with gold their scores on it (abstains count as wrong)."""

    labeler: Labeler
    fitted: list[Labeler]
    gold_scores: dict[str, Scores]

    @property
    def label_model_rows(self) -> int:
        """The papers the label model was fitted on (0: too few LFs for it)."""
        return next((labeler.fit_rows_ for labeler in self.fitted if isinstance(labeler, LabelModelLabeler)), 0)


def choose_labeler(votes: Votes, config: LabelModelConfig, names: list[str], y_gold: np.ndarray | None
                   ) -> LabelerChoice:
    """Fit the label model (with at least MIN_LABEL_MODEL_LFS LFs) and majority vote on the training votes; choose the
    one of higher macro-F1 on gold (a tie: the label model), without gold the label model if it could be fitted."""
    fitted: list[Labeler] = [MajorityVoteLabeler(len(names), prior=config.prior)]
    if votes.train.shape[1] >= MIN_LABEL_MODEL_LFS:
        fitted.insert(0, LabelModelLabeler(len(names), epochs=config.epochs, lr=config.learning_rate, l2=config.l2,
                                           seed=config.seed, prior=config.prior, max_rows=config.max_rows))
    for labeler in fitted:
        labeler.fit(votes.train, y_gold)
    if y_gold is None:
        return LabelerChoice(fitted[0], fitted, {})
    scores = {labeler.NAME: score(y_gold, labeler.predict(votes.gold), names) for labeler in fitted}
    return LabelerChoice(max(fitted, key=lambda labeler: scores[labeler.NAME].macro_f1), fitted, scores)
