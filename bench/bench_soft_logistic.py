"""Issue 11: the TF-IDF end model's soft-label fit, replicated rows (scikit-learn) vs SoftmaxRegression.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_soft_logistic.py [--predictor label_model|majority_vote ...]
        [--repeat R]

Training papers: the ICLR 2024 corpus (../shared/data/iclr2024-corpus.jsonl), those with a keyword-LF vote; soft
labels from WeakLabeler (configs/iclr.yaml's label-model settings, no gold); features: TfidfClassifier's TF-IDF.
Each fit runs in its own process (this script with --fit), so its peak RSS (VmHWM) is its own; the RSS before
the fit is the loaded data. `old` is the fit before issue 11: one row per (paper, area) with probability >= 1e-3,
weighted by it, in LogisticRegression(C, max_iter=1000). Prints a markdown table per predictor: fit seconds,
RSS, iterations, ICLR 2025 dev accuracy, and the old/new top-1 agreement and largest probability difference.
`--repeat R` stacks the training papers R times (a scaling test: R times the data, another optimum).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from labeling import WeakLabeler, apply_lfs, covered, keyword_lfs, load_taxonomy  # noqa: E402
from models import TfidfClassifier, frame_texts  # noqa: E402
from models.soft_logistic import MIN_WEIGHT, SoftmaxRegression  # noqa: E402
from models.text import check_soft_labels  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold, read_papers  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "iclr2024-corpus.jsonl"
DEV = REPO.parent / "shared" / "data" / "iclr2025-dev.jsonl"
C = TfidfClassifier.C


def rss_mb(field: str) -> float:
    """This process's VmRSS (now) or VmHWM (peak) from /proc, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def old_fit(features, targets: np.ndarray) -> LogisticRegression:
    """The replicating fit before issue 11 (models/soft_logistic.py's fit_soft_labels)."""
    rows, areas = np.nonzero(targets >= MIN_WEIGHT)
    return LogisticRegression(C=C, max_iter=1000, random_state=0).fit(features[rows], areas,
                                                                      sample_weight=targets[rows, areas])


def fit_child(kind: str, work: Path) -> None:
    """Load the saved features and labels, fit one way, save dev probabilities and print time and RSS as JSON."""
    features, dev_features = sparse.load_npz(work / "train.npz"), sparse.load_npz(work / "dev.npz")
    targets = np.load(work / "targets.npy")
    before = rss_mb("VmRSS")
    started = time.perf_counter()
    if kind == "old":
        regression = old_fit(features, targets)
        seconds, iterations = time.perf_counter() - started, int(regression.n_iter_[0])
        probabilities = np.zeros((dev_features.shape[0], targets.shape[1]))
        probabilities[:, regression.classes_] = regression.predict_proba(dev_features)
    else:
        regression = SoftmaxRegression(C=C).fit(features, targets)
        seconds, iterations = time.perf_counter() - started, regression.n_iter_
        probabilities = regression.predict_proba(dev_features)
    np.save(work / f"{kind}.npy", probabilities)
    print(json.dumps({"fit s": seconds, "RSS before MB": before, "peak RSS MB": rss_mb("VmHWM"),
                      "iterations": iterations}))


def run_child(kind: str, work: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--fit", kind, "--work", str(work)], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--predictor", nargs="+", default=["label_model", "majority_vote"])
    parser.add_argument("--repeat", type=int, default=1, help="stack the training papers this many times")
    parser.add_argument("--fit", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fit:
        fit_child(args.fit, args.work)
        return

    config = load_config(REPO / "configs" / "iclr.yaml")
    taxonomy = load_taxonomy(config.taxonomy)
    frame, gold = read_papers([str(CORPUS)], verbose=False), read_gold(str(DEV), taxonomy, verbose=False)
    votes = apply_lfs(keyword_lfs(taxonomy), frame)
    keep = covered(votes)
    frame, votes = frame[keep].reset_index(drop=True), votes[keep]
    lm = config.label_model
    labeler = WeakLabeler(len(taxonomy.areas), epochs=lm.epochs, lr=lm.learning_rate, l2=lm.l2, seed=lm.seed,
                          prior=lm.prior).fit(votes)
    tfidf = TfidfClassifier()
    features = tfidf._features(frame_texts(frame), fit=True)
    dev_features = tfidf._features(frame_texts(gold.frame), fit=False)
    print(f"{len(frame)} training papers with a keyword vote (of {len(keep)}), {features.shape[1]} TF-IDF features "
          f"({features.nnz} non-zeros), {len(gold.y)} dev papers, C={C}", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="bench-soft-logistic-") as work:
        work = Path(work)
        sparse.save_npz(work / "train.npz", sparse.vstack([features] * args.repeat, format="csr"))
        sparse.save_npz(work / "dev.npz", dev_features)
        for predictor in args.predictor:
            targets = np.tile(check_soft_labels(labeler.proba_of(predictor, votes), len(frame)), (args.repeat, 1))
            np.save(work / "targets.npy", targets)
            rows = {kind: run_child(kind, work) for kind in ("old", "new")}
            old, new = np.load(work / "old.npy"), np.load(work / "new.npy")
            for kind, probabilities in (("old", old), ("new", new)):
                rows[kind]["dev accuracy"] = float((probabilities.argmax(axis=1) == gold.y).mean())
            expanded = int((targets >= MIN_WEIGHT).sum())
            print(f"\n{predictor} soft labels, {len(targets)} training rows: old fit on {expanded} expanded rows "
                  f"({expanded / len(targets):.1f} per paper); top-1 agreement on dev "
                  f"{(old.argmax(axis=1) == new.argmax(axis=1)).mean():.4f}, largest probability difference "
                  f"{np.abs(old - new).max():.4f}, mean {np.abs(old - new).mean():.5f}\n")
            columns = list(rows["old"])
            print("| fit | " + " | ".join(columns) + " |\n" + "|---" * (len(columns) + 1) + "|")
            for kind, row in rows.items():
                print(f"| {kind} | " + " | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])
                                                  for c in columns) + " |")


if __name__ == "__main__":
    main()
