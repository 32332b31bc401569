"""The end models against the label model, majority vote and zero-shot on the config's gold (ICLR 2025 dev).

    .venv/bin/python bench/bench_training.py [--end-models tfidf minilm] [--epochs N] [--max-length N] [--quick]

Each end model is trained by `train.py --config configs/iclr.yaml --end-model KIND` in its own process (wall time,
peak RSS) into the config's MLflow store; the scores are read back from the run. Gold only chooses the labeller and
the epoch and calibrates; it is never a training label. --quick: the quick training (`harness.quick_training`: the
samples, TF-IDF), zero-shot with the tiny encoder.
"""

from __future__ import annotations

import re

import mlflow
import numpy as np
from harness import REPO, config_gold, quick_config, quick_training, run, start, timed, train
from zeroshot import ZeroShotClassifier

from models.evaluation import score
from paper_areas.tracking import resolve_tracking_uri


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--end-models", nargs="+", default=["tfidf", "minilm"]),
        parser.add_argument("--epochs", type=int), parser.add_argument("--max-length", type=int)))
    config_path = quick_config() if args.quick else REPO / "configs" / "iclr.yaml"
    config, taxonomy, gold = config_gold(config_path)
    extra = [*(["--epochs", str(args.epochs)] if args.epochs else []),
             *(["--max-length", str(args.max_length)] if args.max_length else [])]
    if args.quick:  # the quick training is this bench's own run of train.py on the quick config
        tracking_uri, trained = quick_training()
        runs = {"tfidf": lambda: trained}
    else:
        tracking_uri = resolve_tracking_uri(config.mlflow.tracking_uri, REPO)
        runs = {kind: lambda kind=kind: train(config_path, tracking_uri, "--end-model", kind, *extra)
                for kind in args.end_models}
    rows = []
    for end_model, trained_run in runs.items():
        seconds, peak_mb, stderr = trained_run()
        run_id = re.search(r"run id:\s+(\w+)", stderr).group(1)
        mlflow.set_tracking_uri(tracking_uri)
        metrics = mlflow.get_run(run_id).data.metrics
        if not rows:
            rows += [{"predictor": predictor.replace("_", " "), "accuracy": metrics[f"gold.{predictor}.accuracy"],
                      "macro-F1": metrics[f"gold.{predictor}.macro_f1"],
                      "coverage": metrics[f"gold.{predictor}.coverage"]}
                     for predictor in ("label_model", "majority_vote")]
        rows.append({"predictor": f"end model: {end_model}", "accuracy": metrics["gold.end_model.accuracy"],
                     "macro-F1": metrics["gold.end_model.macro_f1"], "coverage": 1.0, "minutes": seconds / 60,
                     "peak RSS GB": peak_mb / 1024, "run": run_id})
    zero_shot = ZeroShotClassifier([area.description for area in taxonomy.areas],
                                   model_path=config.embeddings.model_path)
    seconds, predicted = timed(lambda: zero_shot.predict(gold.frame))
    result = score(gold.y, np.asarray(predicted), taxonomy.names)
    rows.append({"predictor": "zero-shot (MiniLM similarity to the area descriptions)", "accuracy": result.accuracy,
                 "macro-F1": result.macro_f1, "coverage": 1.0, "minutes": seconds / 60})
    report.note(gold=str(config.gold), gold_papers=len(gold.y))
    report.table("predictors on gold (abstains count as wrong)", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
