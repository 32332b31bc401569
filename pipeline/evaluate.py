"""Score any MLflow model against any gold file: the same figures the training run reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from evaluation import Scores, score
from pipeline.data import read_papers


def evaluate_model(model_uri: str, gold_path: str) -> tuple[Scores, list[str]]:
    """Predict the gold papers with the model at `model_uri` and score them against their labels by area name."""
    gold = read_papers([gold_path])
    unlabelled = gold["label"].isna() | (gold["label"] == "")
    if unlabelled.any():
        raise ValueError(f"{gold.loc[unlabelled, 'source'].iloc[0]}: gold paper has no label")
    model = mlflow.pyfunc.load_model(model_uri)
    predicted = model.predict(gold[["title", "abstract"]])["area_name"].to_numpy()
    names = sorted(set(gold["label"]) | set(predicted))
    index = {name: i for i, name in enumerate(names)}
    y_true = np.array([index[name] for name in gold["label"]])
    y_pred = np.array([index[name] for name in predicted])
    return score(y_true, y_pred, names), names


def scores_json(scores: Scores, model_uri: str, gold_path: str) -> dict:
    """The machine-readable form written by `--json`."""
    return {
        "model": model_uri,
        "gold": gold_path,
        "n_papers": scores.n,
        **scores.summary(),
        "per_area": scores.per_area.round(6).to_dict(orient="index"),
    }


def run_evaluate(model_uri: str, gold_path: str, json_path: str | None) -> int:
    """`train.py evaluate`: print the scores and the per-area report; optionally write them as JSON."""
    scores, _ = evaluate_model(model_uri, gold_path)
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(scores.per_area.round(3).to_string())
    print(f"\n{scores.n} gold papers: accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}")
    if json_path:
        Path(json_path).write_text(json.dumps(scores_json(scores, model_uri, gold_path), indent=2))
        print(f"wrote {json_path}", file=sys.stderr)
    return 0
