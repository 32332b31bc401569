"""Every LF a taxonomy declares, voting: keyword LFs, then embedding LFs anchored on the keyword votes; and the
label model over all of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeling import EmbeddingLFs, KeywordLF, Taxonomy, WeakLabeler, vote_shares
from labeling.embedding import EmbeddingLF
from models import SentenceEncoder, frame_texts
from paper_areas.pipeline.config import EmbeddingsConfig, LabelModelConfig


@dataclass
class Votes:
    """The LFs and their (N, M) vote matrices on the training papers and, with gold, on the gold papers."""

    lfs: list[KeywordLF | EmbeddingLF]
    train: np.ndarray
    gold: np.ndarray | None


def sentence_encoder(config: EmbeddingsConfig) -> SentenceEncoder:
    return SentenceEncoder(config.model_path, config.max_length, cache_dir=config.cache_dir)


def add_embedding_lfs(taxonomy: Taxonomy, votes: Votes, frame: pd.DataFrame, gold_frame: pd.DataFrame | None,
                      config: EmbeddingsConfig) -> Votes:
    """`votes` with the taxonomy's embedding LFs appended: centroids of the papers the keyword LFs label clearly
    (their majority-vote share at least the LF's `min_confidence`) and/or the area descriptions' embeddings."""
    encoder = sentence_encoder(config)
    embeddings = encoder.embed(frame_texts(frame))
    kinds = {spec.kind for spec in taxonomy.embedding_lfs}
    descriptions = encoder.embed([area.description for area in taxonomy.areas]) if "description" in kinds else None
    lfs = EmbeddingLFs(taxonomy).fit(embeddings, vote_shares(votes.train, len(taxonomy.areas)), descriptions)
    gold = None
    if gold_frame is not None:
        gold = np.concatenate([votes.gold, lfs.apply(encoder.embed(frame_texts(gold_frame)))], axis=1)
    return Votes([*votes.lfs, *lfs.lfs], np.concatenate([votes.train, lfs.apply(embeddings)], axis=1), gold)


def fit_label_model(votes: Votes, config: LabelModelConfig, names: list[str], y_gold: np.ndarray | None
                    ) -> WeakLabeler:
    """The label model and majority vote over `votes` (with gold, the better one selected; gold gives the prior)."""
    return WeakLabeler(
        cardinality=len(names),
        epochs=config.epochs,
        lr=config.learning_rate,
        l2=config.l2,
        seed=config.seed,
        area_names=names,
        prior=config.prior,
        max_rows=config.max_rows,
    ).fit(votes.train, votes.gold, y_gold)
