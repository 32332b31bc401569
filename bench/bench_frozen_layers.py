"""One MiniLM fine-tuning step (batch 16 x 128 tokens, AdamW) with 0-3 of its lowest layers frozen.

    .venv/bin/python bench/bench_frozen_layers.py [--rounds 2] [--steps 12] [--quick]

The settings alternate in one process (`--rounds` times each), so a noisy machine slows them alike; each time is
the median step after two warm-up steps, and the ratio is against the unfrozen step of the same round.
--quick: one round of 3 steps of 2 x 16 tokens on the tiny encoder.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from harness import run, start, tiny_encoder
from transformers import AutoModel

from models.encoder import MeanPoolClassifier, default_model_path, freeze_lowest_layers

AREAS = 21


def median_step_seconds(encoder: Path, frozen_layers: int, steps: int, batch: int, tokens: int) -> float:
    torch.manual_seed(0)
    module = MeanPoolClassifier(AutoModel.from_pretrained(encoder), AREAS).train()
    freeze_lowest_layers(module.encoder, frozen_layers)
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(1000, 20000, (batch, tokens))
    mask, targets = torch.ones_like(ids), torch.softmax(torch.randn(batch, AREAS), dim=1)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = -(targets * torch.log_softmax(module(ids, mask), dim=1)).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - started)
    return statistics.median(times[2:])


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--rounds", type=int, default=2), parser.add_argument("--steps", type=int, default=12)))
    rounds, steps, batch, tokens = (1, 3, 2, 16) if args.quick else (args.rounds, args.steps, 16, 128)
    encoder = tiny_encoder() if args.quick else default_model_path()
    rows = []
    for round_ in range(1, rounds + 1):
        unfrozen = None
        for frozen_layers in range(4):
            seconds = median_step_seconds(encoder, frozen_layers, steps, batch, tokens)
            unfrozen = unfrozen or seconds
            rows.append({"round": round_, "frozen layers": frozen_layers, "seconds a step": seconds,
                         "of the unfrozen step": seconds / unfrozen})
            print(rows[-1], flush=True)
    report.table(f"one training step, batch {batch} x {tokens} tokens", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
