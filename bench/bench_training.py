"""Issue 4 targets: the end models against the label model, majority vote and zero-shot on the ICLR 2025 dev set.

    .venv/bin/python bench/bench_training.py [--end-models tfidf minilm] [--epochs N] [--max-length N]

Each end model is trained by `train.py --config configs/iclr.yaml` in its own process (timed, peak RSS by
/usr/bin/time) into the repo's MLflow store; the scores are read back from the run. Gold only selects the label
model and the epoch; it is never a training label. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

from labeling import load_taxonomy  # noqa: E402
from models import ZeroShotClassifier  # noqa: E402
from models.evaluation import score  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold  # noqa: E402
from paper_areas.tracking import resolve_tracking_uri  # noqa: E402

CONFIG = REPO / "configs" / "iclr.yaml"


def train_once(end_model: str, extra: list[str]) -> tuple[str, float, float]:
    """Run train.py; return (run id, wall seconds, peak RSS in GiB)."""
    command = ["/usr/bin/time", "-f", "PEAK_RSS_KB=%M", sys.executable, "train.py", "--config", str(CONFIG),
               "--end-model", end_model, *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"train.py --end-model {end_model} failed:\n{done.stderr[-3000:]}")
    run_id = re.search(r"run id:\s+(\w+)", done.stderr).group(1)
    peak_kb = int(re.search(r"PEAK_RSS_KB=(\d+)", done.stderr).group(1))
    return run_id, seconds, peak_kb / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--end-models", nargs="+", default=["tfidf", "minilm"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-length", type=int)
    args = parser.parse_args()
    extra = [*(["--epochs", str(args.epochs)] if args.epochs else []),
             *(["--max-length", str(args.max_length)] if args.max_length else [])]

    config = load_config(CONFIG)
    mlflow.set_tracking_uri(resolve_tracking_uri(config.mlflow.tracking_uri, REPO))
    rows: list[tuple[str, float, float, float, str]] = []
    for end_model in args.end_models:
        run_id, seconds, peak = train_once(end_model, extra)
        metrics = mlflow.get_run(run_id).data.metrics
        if not rows:
            for predictor in ("label_model", "majority_vote"):
                rows.append((predictor.replace("_", " "), metrics[f"gold.{predictor}.accuracy"],
                             metrics[f"gold.{predictor}.macro_f1"], metrics[f"gold.{predictor}.coverage"], ""))
        rows.append((f"end model: {end_model}", metrics["gold.end_model.accuracy"],
                     metrics["gold.end_model.macro_f1"], 1.0,
                     f"{seconds / 60:.1f} min, peak RSS {peak:.1f} GiB, run {run_id[:8]}"))

    taxonomy = load_taxonomy(config.taxonomy)
    gold = read_gold(config.gold, taxonomy, verbose=False)
    started = time.perf_counter()
    zero_shot = ZeroShotClassifier([area.description for area in taxonomy.areas]).predict(gold.frame)
    result = score(gold.y, np.asarray(zero_shot), taxonomy.names)
    rows.append(("zero-shot (MiniLM similarity to area descriptions)", result.accuracy, result.macro_f1, 1.0,
                 f"{time.perf_counter() - started:.0f} s"))

    print(f"Gold: {len(gold.y)} papers of {Path(config.gold).name}; abstains count as wrong.\n")
    print("| predictor | accuracy | macro-F1 | coverage | notes |\n|---|---:|---:|---:|---|")
    for name, accuracy, macro_f1, coverage, note in rows:
        print(f"| {name} | {accuracy:.3f} | {macro_f1:.3f} | {coverage:.3f} | {note} |")


if __name__ == "__main__":
    main()
