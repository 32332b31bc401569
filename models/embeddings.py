"""Frozen sentence embeddings (mean-pooled, unit length) with an on-disk cache keyed by model and text hash, and the
end model of a logistic regression on them (a second view of the text)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from models.encoder import (
    default_model_path,
    mean_pool,
    run_sorted,
    tokenize,
    torch_threads,
)
from models.soft_logistic import SoftLogisticClassifier
from paper_areas.core.outputs import atomic_output
from paper_areas.core.progress import Progress

WEIGHT_SUFFIXES = (".safetensors", ".bin")
CACHE_CHUNK = 512  # texts embedded between cache writes and progress lines; an interrupted run keeps its work
PROGRESS_EVERY = 10.0


def text_hashes(texts: list[str]) -> np.ndarray:
    """Hex SHA-256 digest of each text, as an (N,) string array."""
    return np.array([hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts], dtype="U64")


def model_fingerprint(path: str | Path, max_length: int) -> str:
    """A short digest of a model folder's config and weights and the token limit: the cache key of a model."""
    digest = hashlib.sha256(f"max_length={max_length}".encode())
    for file in sorted(Path(path).iterdir()):
        if file.name == "config.json" or file.name.endswith(WEIGHT_SUFFIXES):
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


class EmbeddingCache:
    """Embeddings of one model, stored in `<directory>/<model key>.npz` (text hashes and float32 vectors)."""

    def __init__(self, directory: str | Path, model_key: str) -> None:
        self.path = Path(directory) / f"{model_key}.npz"
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        if self.path.exists():
            with np.load(self.path) as stored:
                self._vectors = stored["vectors"]
                self._index = {key: row for row, key in enumerate(stored["hashes"].tolist())}

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the cached vectors for `hashes` (-1 where missing) and the mask of the missing ones."""
        rows = np.array([self._index.get(key, -1) for key in hashes.tolist()], dtype=np.intp)
        return rows, rows < 0

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        return self._vectors[rows]

    def add(self, hashes: np.ndarray, vectors: np.ndarray) -> None:
        """Store new (hash, vector) pairs and rewrite the file atomically."""
        keys = hashes.tolist()
        new = [i for i, key in enumerate(keys) if key not in self._index]
        if not new:
            return
        start = len(self._index)
        self._vectors = np.concatenate([self._vectors.reshape(start, vectors.shape[1]), vectors[new]])
        self._index.update({keys[i]: start + offset for offset, i in enumerate(new)})
        with atomic_output(self.path) as temp, temp.open("wb") as file:
            np.savez(file, hashes=np.array(list(self._index), dtype="U64"), vectors=self._vectors)


@dataclasses.dataclass
class SentenceEncoder:
    """Unit-length mean-pooled embeddings of texts from a frozen transformer (default: all-MiniLM-L6-v2). With
    `cache_dir`, they are kept on disk keyed by the model's weights, `max_length` and each text's hash, so repeated
    runs embed only texts they have not seen."""

    model_path: str | None = None
    max_length: int = 128  # the end model's; abstracts run longer, but it halves the time
    batch_size: int = 32
    num_threads: int | None = None
    cache_dir: str | None = None

    @cached_property
    def _encoder(self) -> tuple:
        path = self.model_path or default_model_path()
        return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    @cached_property
    def _cache(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        key = model_fingerprint(self.model_path or default_model_path(), self.max_length)
        return EmbeddingCache(self.cache_dir, key)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(N, D) float32 unit-length embeddings of `texts`, from the cache where present; progress on stderr."""
        texts = list(texts)
        if self._cache is None:
            if len(texts) <= CACHE_CHUNK:
                return self._compute(texts)
            return np.concatenate([vectors for _, vectors in self._chunks(texts)])
        hashes = text_hashes(texts)
        rows, missing = self._cache.lookup(hashes)
        if missing.any():
            todo = np.flatnonzero(missing)
            unique_hashes, first = np.unique(hashes[todo], return_index=True)
            for start, vectors in self._chunks([texts[todo[i]] for i in first]):
                self._cache.add(unique_hashes[start : start + len(vectors)], vectors)
            rows, _ = self._cache.lookup(hashes)
        return self._cache.vectors(rows)

    def _chunks(self, texts: list[str]) -> Iterator[tuple[int, np.ndarray]]:
        """(start, embeddings) of `texts` in chunks of CACHE_CHUNK, with progress lines on stderr."""
        with Progress("papers", total=len(texts), label="embedding", every=PROGRESS_EVERY) as progress:
            for start in range(0, len(texts), CACHE_CHUNK):
                vectors = self._compute(texts[start : start + CACHE_CHUNK])
                yield start, vectors
                progress.advance(len(vectors))

    def _compute(self, texts: list[str]) -> np.ndarray:
        tokenizer, encoder = self._encoder
        if not texts:
            return np.zeros((0, encoder.config.hidden_size), dtype=np.float32)

        def forward(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            return torch.nn.functional.normalize(mean_pool(hidden, mask), dim=1)

        with torch_threads(self.num_threads):
            tokens = tokenize(tokenizer, texts, self.max_length)
            return run_sorted(tokens, self.batch_size, tokenizer.pad_token_id, forward).astype(np.float32)


@dataclasses.dataclass
class EmbeddingLogisticClassifier(SoftLogisticClassifier):
    """Multinomial logistic regression on the embeddings of the frozen encoder `model_path` (None: the packaged
    all-MiniLM-L6-v2); `cache_dir` keeps embeddings on disk between runs and is not saved with the model."""

    KIND = "embedding_logistic"
    UNSAVED_PARAMS = ("cache_dir",)
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
