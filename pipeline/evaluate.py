"""Score any MLflow model against any gold file: the same figures the training run reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from evaluation import Scores, score
from labeling import Taxonomy, load_taxonomy
from pipeline.data import GoldError, read_gold
from tracking import require_model, resolve_tracking_uri


def load_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model at `model_uri`, a registry URI looked up in the project's store (never a new one)."""
    store = resolve_tracking_uri()
    if model_uri.startswith("models:/"):
        require_model(store, model_uri)
    mlflow.set_tracking_uri(store)
    return mlflow.pyfunc.load_model(model_uri)


def evaluate_model(model_uri: str, gold_path: str, taxonomy: Taxonomy) -> Scores:
    """Predict the gold papers with the model at `model_uri` and score them against their labels.

    Gold labels may be area names or slugs of `taxonomy` (anything else is refused with file:line); the model's
    `area` column (slugs) is compared with them through the taxonomy.
    """
    gold = read_gold(gold_path, taxonomy)
    model = load_model(model_uri)
    predicted = model.predict(gold.frame[["title", "abstract"]])["area"].astype(str)
    unknown = sorted(set(predicted) - set(taxonomy.slugs))
    if unknown:
        raise GoldError(f"model {model_uri} predicts area {unknown[0]!r}, not an area of taxonomy "
                        f"{taxonomy.name!r} (pass the model's taxonomy with --taxonomy)")
    y_pred = np.array([taxonomy.index(slug) for slug in predicted], dtype=int)
    return score(gold.y, y_pred, taxonomy.names)


def scores_json(scores: Scores, model_uri: str, gold_path: str) -> dict:
    """The machine-readable form written by `--json`."""
    return {
        "model": model_uri,
        "gold": gold_path,
        "n_papers": scores.n,
        **scores.summary(),
        "per_area": scores.per_area.round(6).to_dict(orient="index"),
    }


def run_evaluate(model_uri: str, gold_path: str, json_path: str | None, taxonomy_path: str) -> int:
    """`train.py evaluate`: print the scores and the per-area report; optionally write them as JSON."""
    scores = evaluate_model(model_uri, gold_path, load_taxonomy(taxonomy_path))
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(scores.per_area.round(3).to_string())
    print(f"\n{scores.n} gold papers: accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}")
    if json_path:
        Path(json_path).write_text(json.dumps(scores_json(scores, model_uri, gold_path), indent=2))
        print(f"wrote {json_path}", file=sys.stderr)
    return 0
