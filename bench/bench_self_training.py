"""Issue 10: COSINE-style self-training of the fine-tuned MiniLM, against more epochs on the weak labels.

    .venv/bin/python bench/bench_self_training.py [PAPERS]      # default 2400; env LAMBDA, XI, LR2

On a slice of PAPERS covered training papers of configs/iclr.yaml (uniform sample, seed 0) with the run's weak
labels (keyword + centroid LFs, the labeller selected on gold), MiniLM is fine-tuned as the product does (2 epochs,
lr 1e-4 with warmup and linear decay, 2 frozen layers, batch 16, 128 tokens): the baseline. From that state, two
continuations of 2 epochs each at a constant lr LR2 (2e-5):
- cosine: COSINE (Yu et al., NAACL 2021) -- before each epoch the model's predictions on the slice are sharpened
  into soft pseudo-labels (q ~ p^2 / column sum), papers whose weight 1 - H(q)/log K is under XI (0.6) are left
  out, the others trained on with the weighted KL(q || p) plus LAMBDA (0.1) times a contrastive term on the pooled,
  normalised embeddings (pairs of the same pseudo-area pulled together, others pushed beyond distance 1) and
  LAMBDA times a confidence regulariser (KL(uniform || p) up to a constant);
- control: the same epochs on the weak labels.
Every state is scored on iclr2025-dev (whole set and half B) with fp32 torch predictions. The weak labels are
cached in $LABELS (default /tmp/paper-areas-self-training-labels.npz), the embeddings in $EMBEDDINGS_CACHE. Prints
one line per state.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_weak_labels import CENTROID, DEFAULT_CACHE, iclr_papers  # noqa: E402
from torch import nn  # noqa: E402
from transformers import get_linear_schedule_with_warmup  # noqa: E402

from labeling import EmbeddingLFs, WeakLabeler, apply_lfs, covered, keyword_lfs, vote_shares  # noqa: E402
from models import SentenceEncoder  # noqa: E402
from models import encoder as minilm_parts  # noqa: E402
from models.evaluation import expected_calibration_error, score, split_by_id  # noqa: E402
from models.text import frame_texts  # noqa: E402

LAMBDA = float(os.environ.get("LAMBDA", "0.1"))
XI = float(os.environ.get("XI", "0.6"))
LR2 = float(os.environ.get("LR2", "2e-5"))
LABELS = os.environ.get("LABELS", "/tmp/paper-areas-self-training-labels.npz")
EMBEDDINGS_CACHE = os.environ.get("EMBEDDINGS_CACHE", DEFAULT_CACHE)
STARTED = time.time()


def say(*parts: object) -> None:
    print(f"[{time.time() - STARTED:6.0f}s]", *parts, flush=True)


def weak_labels(frame, gold, taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """Covered-paper mask and soft labels of the training papers (keyword + centroid LFs, selected on gold)."""
    if os.path.exists(LABELS):
        cached = np.load(LABELS)
        return cached["keep"], cached["W"]
    k = len(taxonomy.areas)
    lfs = keyword_lfs(taxonomy)
    votes, gold_votes = apply_lfs(lfs, frame), apply_lfs(lfs, gold.frame)
    encoder = SentenceEncoder(cache_dir=EMBEDDINGS_CACHE)
    embeddings, gold_embeddings = encoder.embed(frame_texts(frame)), encoder.embed(frame_texts(gold.frame))
    centroids = EmbeddingLFs(taxonomy, (CENTROID,)).fit(embeddings, vote_shares(votes, k))
    votes = np.concatenate([votes, centroids.apply(embeddings)], 1)
    gold_votes = np.concatenate([gold_votes, centroids.apply(gold_embeddings)], 1)
    labeler = WeakLabeler(k, epochs=100, lr=0.001, area_names=taxonomy.names).fit(votes, gold_votes, gold.y)
    keep = covered(votes)
    soft = labeler.predict_proba(votes[keep])
    say("labels", labeler.selected_, {name: s.summary() for name, s in labeler.gold_scores_.items()})
    np.savez(LABELS, keep=keep, W=soft)
    return keep, soft


class SelfTrainingBench:
    """A MiniLM classifier on a slice of token ids with soft targets, scored on gold after every epoch."""

    def __init__(self, texts: list[str], targets: np.ndarray, gold, names: list[str]) -> None:
        path = minilm_parts.default_model_path()
        self.tokenizer = minilm_parts.load_tokenizer(path)
        self.ids = minilm_parts.tokenize(self.tokenizer, texts, 128)
        self.lengths = [len(x) for x in self.ids]
        self.gold_ids = minilm_parts.tokenize(self.tokenizer, frame_texts(gold.frame), 128)
        self.targets, self.weak_top = torch.tensor(targets, dtype=torch.float32), targets.argmax(1)
        self.gold, self.names, self.half_b = gold, names, ~split_by_id(gold.frame["id"])
        self.k = targets.shape[1]
        torch.manual_seed(0)
        self.model = minilm_parts.MeanPoolClassifier(minilm_parts.load_encoder(path), self.k)
        minilm_parts.freeze_lowest_layers(self.model.encoder, 2)

    def batch(self, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return minilm_parts.collate([self.ids[i] for i in rows], self.tokenizer.pad_token_id)

    def predict(self, token_ids: list[list[int]]) -> np.ndarray:
        self.model.eval()
        logits = minilm_parts.run_sorted(token_ids, 32, self.tokenizer.pad_token_id, self.model)
        return torch.softmax(torch.from_numpy(logits).double(), 1).numpy()

    def report(self, tag: str) -> None:
        proba, y = self.predict(self.gold_ids), self.gold.y
        whole = score(y, proba.argmax(1), self.names)
        half_b = score(y[self.half_b], proba[self.half_b].argmax(1), self.names)
        say(f"{tag:34s} dev {whole.accuracy:.3f}/{whole.macro_f1:.3f}  B {half_b.accuracy:.3f}/{half_b.macro_f1:.3f}"
            f"  ECE {expected_calibration_error(proba, y):.3f}  mean conf {proba.max(1).mean():.3f}")

    def step(self, loss: torch.Tensor, optimizer, scheduler=None) -> None:
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        optimizer.step()
        if scheduler:
            scheduler.step()
        optimizer.zero_grad()

    def weak_epoch(self, optimizer, scheduler, rng: np.random.Generator) -> float:
        """One epoch of cross-entropy against the weak labels (the product's loss); the mean loss."""
        self.model.train()
        total = 0.0
        for rows in minilm_parts.training_batches(self.lengths, 16, rng):
            logits = self.model(*self.batch(rows))
            loss = -(self.targets[rows] * torch.log_softmax(logits, 1)).sum(1).mean()
            self.step(loss, optimizer, scheduler)
            total += loss.item() * len(rows)
        return total / len(self.ids)

    def cosine_epoch(self, optimizer, rng: np.random.Generator) -> None:
        """One COSINE epoch: sharpened pseudo-labels, confidence-selected, weighted KL + contrastive + confidence."""
        proba = self.predict(self.ids)
        sharpened = proba**2 / proba.sum(0)
        sharpened /= sharpened.sum(1, keepdims=True)
        weights = 1 - (-(sharpened * np.log(np.clip(sharpened, 1e-12, None))).sum(1)) / math.log(self.k)
        selected = weights > XI
        say(f"cosine: {selected.mean():.2f} of papers selected (xi {XI}), "
            f"agreement with weak top {(sharpened.argmax(1) == self.weak_top).mean():.3f}")
        pseudo = torch.tensor(sharpened, dtype=torch.float32)
        paper_weights = torch.tensor(weights * selected, dtype=torch.float32)
        self.model.train()
        for rows in minilm_parts.training_batches(self.lengths, 16, rng):
            rows = rows[selected[rows]]
            if len(rows) < 2:
                continue
            input_ids, mask = self.batch(rows)
            hidden = self.model.encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
            pooled = minilm_parts.mean_pool(hidden, mask)
            log_p = torch.log_softmax(self.model.head(self.model.dropout(pooled)), 1)
            q, w = pseudo[rows], paper_weights[rows]
            classification = (w * (q * (torch.log(q.clamp_min(1e-12)) - log_p)).sum(1)).sum() / w.sum()
            normalised = nn.functional.normalize(pooled, dim=1)
            distance = torch.cdist(normalised, normalised)
            same = (q.argmax(1)[:, None] == q.argmax(1)[None, :]).float()
            contrastive = (same * distance**2 + (1 - same) * torch.clamp(1.0 - distance, min=0) ** 2).mean()
            confidence = -(log_p.mean(1)).mean()  # KL(uniform || p) up to a constant
            self.step(classification + LAMBDA * contrastive + LAMBDA * confidence, optimizer)


def main() -> None:
    papers = int(sys.argv[1]) if len(sys.argv) > 1 else 2400
    torch.set_num_threads(2)
    taxonomy, frame, gold = iclr_papers()
    keep, soft = weak_labels(frame, gold, taxonomy)
    covered_frame = frame[keep].reset_index(drop=True)
    rows = np.sort(np.random.default_rng(0).choice(len(covered_frame), size=min(papers, len(covered_frame)),
                                                   replace=False))
    all_texts = frame_texts(covered_frame)
    bench = SelfTrainingBench([all_texts[i] for i in rows], soft[rows], gold, taxonomy.names)
    say(f"{len(rows)} training papers, lambda {LAMBDA}, xi {XI}, lr2 {LR2}")
    optimizer = torch.optim.AdamW(minilm_parts.decay_groups(bench.model, 0.01), lr=1e-4)
    total = 2 * math.ceil(len(rows) / 16)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * total), total)
    rng = np.random.default_rng(0)
    for epoch in range(2):
        say("weak epoch", epoch + 1, "loss", round(bench.weak_epoch(optimizer, scheduler, rng), 3))
        bench.report(f"weak epoch {epoch + 1}")
    state = copy.deepcopy(bench.model.state_dict())
    for variant in ("cosine", "control"):
        bench.model.load_state_dict(state)
        optimizer = torch.optim.AdamW(minilm_parts.decay_groups(bench.model, 0.01), lr=LR2)
        rng = np.random.default_rng(1)
        for epoch in range(2):
            if variant == "cosine":
                bench.cosine_epoch(optimizer, rng)
            else:
                bench.weak_epoch(optimizer, None, rng)
            bench.report(f"{variant} epoch {epoch + 1}")


if __name__ == "__main__":
    main()
