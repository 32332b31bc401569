"""Zero-shot baseline of the benches: MiniLM embedding similarity between each paper and each area description."""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from models.base import ProbabilisticClassifier
from models.embeddings import SentenceEncoder
from models.text import frame_texts


@dataclasses.dataclass
class ZeroShotClassifier(ProbabilisticClassifier):
    """Softmax over cosine similarities (divided by `temperature`) of normalised mean-pooled embeddings."""

    descriptions: list[str]
    model_path: str | None = None
    max_length: int = 256
    temperature: float = 0.05
    batch_size: int = 32
    num_threads: int | None = None

    def fit(self, *args, **kwargs) -> ZeroShotClassifier:
        """Nothing to learn: returns self unchanged."""
        return self

    @cached_property
    def _encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.model_path, self.max_length, self.batch_size, self.num_threads)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length mean-pooled embeddings of `texts`."""
        return self._encoder.embed(texts)

    @cached_property
    def _area_embeddings(self) -> np.ndarray:
        return self.embed(list(self.descriptions))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) softmax over the paper's similarity to each of the K area descriptions."""
        texts = frame_texts(frame)
        if not texts:
            return np.zeros((0, len(self.descriptions)))
        similarities = self.embed(texts) @ self._area_embeddings.T
        return torch.softmax(torch.from_numpy(similarities / self.temperature).double(), dim=1).numpy()
