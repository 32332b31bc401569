"""MiniLM end model: all-MiniLM-L6-v2, mean pooling and a linear head, fine-tuned on probabilistic labels."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from scipy.special import softmax
from torch import nn
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

from models.base import (
    EpochCallback,
    EvalSet,
    FineTuning,
    ProbabilisticClassifier,
    check_soft_labels,
    epoch_row,
    read_config,
    write_config,
)
from models.encoder import (
    MeanPoolClassifier,
    collate,
    decay_groups,
    default_model_path,
    freeze_lowest_layers,
    run_sorted,
    tokenize,
    torch_threads,
    training_batches,
)
from models.onnx_int8 import export_int8_onnx, onnx_forward
from models.text import frame_texts
from paper_areas.core.progress import Progress

HEAD_FILE = "head.safetensors"
INT8_ONNX_FILE = "model.int8.onnx"
PROGRESS_EVERY = 30.0  # seconds between progress lines when stderr is not a terminal


@dataclasses.dataclass
class MiniLMClassifier(ProbabilisticClassifier):
    """Fine-tuned sentence encoder with a noise-aware loss: cross-entropy against the label distribution.
    `model_path=None` is all-MiniLM-L6-v2. The word embeddings are never trained (half of MiniLM's weights, a dense
    gradient and AdamW update each step); `frozen_layers` freezes the other embeddings and that many of the lowest
    transformer layers too (2 of MiniLM's 6: a step ~26% cheaper). `quantize=True` predicts with a fused,
    dynamically int8-quantised ONNX copy in ONNX Runtime (fast CPU inference; saved with the model, else built on
    first use; training always runs in torch fp32); `quantize=False` is the plain torch fp32 reference."""

    KIND: ClassVar[str] = "minilm"
    model_path: str | None = None
    max_length: int = 128
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 1e-4
    frozen_layers: int = 2
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0
    num_threads: int | None = None
    quantize: bool = True
    predict_batch_size: int = 8

    def __post_init__(self) -> None:
        self._reset_fast_path()

    def __getstate__(self) -> dict:
        """Copied or pickled without the ONNX copy and its session (rebuilt on first use)."""
        return self.__dict__ | {"_int8_onnx_model": None, "_fast_forward": None}

    def _fit(self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback,
             progress: bool) -> None:
        """Fine-tune all-MiniLM-L6-v2 (or `model_path`) with a new head; see `_train`."""
        torch.manual_seed(self.seed)
        path = self.model_path or default_model_path()
        self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        self.module_ = MeanPoolClassifier(AutoModel.from_pretrained(path), targets.shape[1])
        freeze_lowest_layers(self.module_.encoder, self.frozen_layers)
        self.best_epoch_, self.history_ = self._train(texts, targets, self.epochs, self.learning_rate, eval_set,
                                                      on_epoch, progress)

    def fine_tune(self, frame: pd.DataFrame, targets: np.ndarray, settings: FineTuning,
                  progress: bool = False) -> MiniLMClassifier:
        """Continue training from the fitted weights on more papers and their (N, K) targets, `settings.epochs` at
        `settings.learning_rate` (continuous fine-tuning on a few clean labels after the weak ones)."""
        texts = frame_texts(frame)
        freeze_lowest_layers(self.module_.encoder, self.frozen_layers)
        torch.manual_seed(self.seed)
        self._train(texts, check_soft_labels(targets, len(texts)), settings.epochs, settings.learning_rate, None,
                    lambda row: None, progress)
        return self

    def _train(self, texts: list[str], targets: np.ndarray, epochs: int, learning_rate: float,
               eval_set: EvalSet | None, on_epoch: EpochCallback, progress: bool) -> tuple[int, list[dict]]:
        """Train `module_` in fp32 with AdamW, linear warmup/decay and length-bucketed batches against the label
        distributions; with `eval_set`, the epoch of the best gold macro-F1 is kept. The epoch kept, and one history
        row per epoch (each also given to `on_epoch`)."""
        targets = torch.tensor(targets, dtype=torch.float32)
        rng = np.random.default_rng(self.seed)
        self._reset_fast_path()
        token_ids = tokenize(self.tokenizer_, texts, self.max_length)
        lengths = [len(ids) for ids in token_ids]
        optimizer = torch.optim.AdamW(decay_groups(self.module_, self.weight_decay), lr=learning_rate)
        total_steps = epochs * math.ceil(len(texts) / self.batch_size)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(self.warmup_ratio * total_steps), total_steps)
        best_f1, best_state, best_epoch, history = -math.inf, None, epochs, []
        with (
            torch_threads(self.num_threads),
            Progress("steps", sys.stderr, every=PROGRESS_EVERY, total=total_steps, label="fine-tuning",
                     quiet=not progress) as steps,
        ):
            for epoch in range(1, epochs + 1):
                self.module_.train()
                loss_sum = 0.0
                for batch in training_batches(lengths, self.batch_size, rng):
                    logits = self.module_(*collate([token_ids[i] for i in batch], self.tokenizer_.pad_token_id))
                    loss = -(targets[batch] * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
                    loss.backward()
                    nn.utils.clip_grad_norm_(self.module_.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                    loss_sum += loss.item() * len(batch)
                    steps.advance(1, status=f"epoch {epoch}/{epochs}, loss {loss.item():.3f}")
                self.module_.eval()
                self._reset_fast_path()
                row = epoch_row(epoch, loss_sum / len(texts), self, eval_set)
                history.append(row)
                gold = f", gold macro-F1 {row['gold_macro_f1']:.3f}" if eval_set is not None else ""
                steps.log(f"epoch {epoch}/{epochs} done: train loss {row['train_loss']:.3f}{gold}")
                on_epoch(row)
                if eval_set is not None and row["gold_macro_f1"] > best_f1:
                    best_f1, best_epoch = row["gold_macro_f1"], epoch
                    best_state = {name: value.detach().clone() for name, value in self.module_.state_dict().items()}
        if best_state is not None:
            self.module_.load_state_dict(best_state)
            self._reset_fast_path()
        return best_epoch, history

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities; length-sorted batches, ONNX Runtime int8 unless `quantize=False` (one
        batch per thread at once: `num_threads`, default torch's thread count)."""
        texts = frame_texts(frame)
        if not texts:
            return np.zeros((0, self.module_.head.out_features))
        with torch_threads(self.num_threads):
            logits = run_sorted(tokenize(self.tokenizer_, texts, self.max_length), self.predict_batch_size,
                                self.tokenizer_.pad_token_id, self._forward(),
                                workers=torch.get_num_threads() if self.quantize else 1)
        return softmax(logits.astype(np.float64), axis=1)

    def _forward(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if not self.quantize:
            return self.module_.eval()
        if self._fast_forward is None:
            self._fast_forward = onnx_forward(self._int8_onnx())
        return self._fast_forward

    def _int8_onnx(self) -> bytes:
        if self._int8_onnx_model is None:
            self._int8_onnx_model = export_int8_onnx(self.module_)
        return self._int8_onnx_model

    def _reset_fast_path(self, int8_onnx_model: bytes | None = None) -> None:
        """Drop the ONNX copy and its session (the torch weights changed), or adopt a saved ONNX copy."""
        self._int8_onnx_model = int8_onnx_model
        self._fast_forward = None

    def save(self, directory: str | Path) -> Path:
        """Write tokenizer, encoder and head (safetensors), the int8 ONNX copy and a small JSON config."""
        params = {k: v for k, v in dataclasses.asdict(self).items() if k != "model_path"}
        directory = write_config(directory, self.KIND, params, {"best_epoch": self.best_epoch_})
        self.tokenizer_.save_pretrained(directory)
        self.module_.encoder.save_pretrained(directory)
        head = {name: value.contiguous() for name, value in self.module_.head.state_dict().items()}
        save_file(head, directory / HEAD_FILE)
        (directory / INT8_ONNX_FILE).write_bytes(self._int8_onnx())
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> MiniLMClassifier:
        """A classifier saved with `save`, ready to predict."""
        _, params, state = read_config(directory, cls.KIND)
        classifier = cls(**params, model_path=str(directory))
        head = load_file(Path(directory) / HEAD_FILE)
        classifier.tokenizer_ = AutoTokenizer.from_pretrained(str(directory))
        encoder = AutoModel.from_pretrained(str(directory))
        classifier.module_ = MeanPoolClassifier(encoder, head["weight"].shape[0]).eval()
        classifier.module_.head.load_state_dict(head)
        classifier.best_epoch_ = state["best_epoch"]
        onnx_file = Path(directory) / INT8_ONNX_FILE
        classifier._reset_fast_path(onnx_file.read_bytes() if onnx_file.exists() else None)
        return classifier
