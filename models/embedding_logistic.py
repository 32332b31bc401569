"""Logistic regression on frozen sentence embeddings, fitted on soft labels: a second view of the text."""

from __future__ import annotations

import dataclasses
from functools import cached_property

from models.embeddings import SentenceEncoder
from models.soft_logistic import SoftLogisticClassifier


@dataclasses.dataclass
class EmbeddingLogisticClassifier(SoftLogisticClassifier):
    """Multinomial logistic regression on unit-length mean-pooled embeddings of a frozen encoder.

    The encoder is `model_path` (None: the packaged all-MiniLM-L6-v2); `cache_dir` keeps embeddings on disk
    between runs and is not saved with the model.
    """

    KIND = "embedding_logistic"
    model_path: str | None = None
    max_length: int = 128  # the end model's; abstracts run longer, but it halves the time
    C: float = 10.0
    batch_size: int = 32
    num_threads: int | None = None
    cache_dir: str | None = None
    seed: int = 0

    @cached_property
    def encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.model_path, self.max_length, self.batch_size, self.num_threads, self.cache_dir)

    def _features(self, texts: list[str], fit: bool):
        return self.encoder.embed(texts)

    def _saved_params(self) -> dict:
        return dataclasses.asdict(self) | {"cache_dir": None}
