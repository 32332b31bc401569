"""Zero-shot baseline: MiniLM embedding similarity between each paper and each area description."""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd
import torch
from torch import nn

from models.base import ProbabilisticClassifier
from models.encoder import (
    default_model_path,
    load_encoder,
    load_tokenizer,
    mean_pool,
    run_sorted,
    tokenize,
    torch_threads,
)
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
    def _encoder(self) -> tuple:
        path = self.model_path or default_model_path()
        return load_tokenizer(path), load_encoder(path).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length mean-pooled embeddings of `texts`."""
        tokenizer, encoder = self._encoder
        with torch_threads(self.num_threads):
            return run_sorted(
                tokenize(tokenizer, texts, self.max_length),
                self.batch_size,
                tokenizer.pad_token_id,
                lambda ids, mask: nn.functional.normalize(
                    mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask), dim=1
                ),
            )

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
