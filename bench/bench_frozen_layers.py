"""One MiniLM fine-tuning step (batch 16 x 128 tokens, AdamW) with 0-3 of its lowest layers frozen.

    .venv/bin/python bench/bench_frozen_layers.py [--rounds 2] [--steps 12]

The settings alternate in one process (`--rounds` times each), so a noisy machine slows them alike; each time is
the median step after two warm-up steps, and the ratio is against the unfrozen step of the same round. Prints a
markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from models.encoder import MeanPoolClassifier, default_model_path, freeze_lowest_layers, load_encoder  # noqa: E402

BATCH, TOKENS, AREAS = 16, 128, 21


def median_step_seconds(frozen_layers: int, steps: int) -> float:
    torch.manual_seed(0)
    module = MeanPoolClassifier(load_encoder(default_model_path()), AREAS).train()
    freeze_lowest_layers(module.encoder, frozen_layers)
    optimizer = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(1000, 20000, (BATCH, TOKENS))
    mask, targets = torch.ones_like(ids), torch.softmax(torch.randn(BATCH, AREAS), dim=1)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = -(targets * torch.log_softmax(module(ids, mask), dim=1)).sum(dim=1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - started)
    return statistics.median(times[2:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()
    print("| round | frozen layers | seconds a step | of the unfrozen step |\n|---|---:|---:|---:|")
    for round_ in range(1, args.rounds + 1):
        unfrozen = None
        for frozen_layers in range(4):
            seconds = median_step_seconds(frozen_layers, args.steps)
            unfrozen = unfrozen or seconds
            print(f"| {round_} | {frozen_layers} | {seconds:.2f} | {seconds / unfrozen:.2f} |", flush=True)


if __name__ == "__main__":
    main()
