"""predict.py on a large synthetic JSONL dump: papers/s and peak RSS of the whole process.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_predict.py [--papers 1000000]
        [--model URI] [--batch-size 512] [--teacher-ratio ROUNDS] [--quick]

The dump repeats the ICLR 2024 corpus with a unique id and a numbered title per copy (nothing is de-duplicated
away), kept in the temporary folder. The model is the registry champion unless --model is given. --teacher-ratio:
the model (one served with its teacher) and the same model with the teacher taken out (its end model served alone,
as before the teacher; the same calibration), both re-logged to a temporary store, run alternately ROUNDS times
each: the ratio of their median seconds. --quick: 300 papers, the quick TF-IDF model.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import tempfile
from pathlib import Path

from harness import QUICK_MODEL, REPO, quick_store, run, run_process, start, synthetic_dump

from models import TaughtClassifier, teacher_of
from paper_areas.prediction import DEFAULT_MODEL_URI


def without_teacher(classifier):
    """`classifier` with the TaughtClassifier in its chain of wrappers replaced by the end model it wraps."""
    if isinstance(classifier, TaughtClassifier):
        return classifier.model
    stripped = copy.copy(classifier)
    stripped.model = without_teacher(classifier.model)
    return stripped


def with_and_without_teacher(model_uri: str, store: Path) -> tuple[str, dict[str, str]]:
    """The model at `model_uri` and the same without its teacher, logged to a new store at `store`: their URIs by
    name, and that store's tracking URI."""
    import mlflow

    from models import log_pyfunc_model

    served = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    if teacher_of(served.classifier) is None:
        raise SystemExit(f"{model_uri}: the model has no teacher to take out")
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    with mlflow.start_run():
        uris = {name: log_pyfunc_model(classifier, served.slugs, served.names, name=name.replace(" ", "-"),
                                       taxonomy=served.taxonomy).model_uri
                for name, classifier in [("with teacher", served.classifier),
                                         ("without teacher", without_teacher(served.classifier))]}
    return f"sqlite:///{store}", uris


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--papers", type=int, default=1_000_000),
        parser.add_argument("--model", help="model URI (default: the registry champion)"),
        parser.add_argument("--batch-size", default="512"),
        parser.add_argument("--teacher-ratio", type=int, metavar="ROUNDS")))
    papers, model = (300, QUICK_MODEL) if args.quick else (args.papers, args.model)
    env = {**os.environ, "MLFLOW_TRACKING_URI": quick_store()} if args.quick else None
    dump = synthetic_dump(papers)
    output = Path(tempfile.gettempdir()) / f"paper-areas-predictions-{papers}.jsonl"

    def timed(model_uri: str | None, env: dict[str, str] | None) -> tuple[float, float, int]:
        command = [sys.executable, str(REPO / "predict.py"), "--input", str(dump), "--output", str(output),
                   "--batch-size", args.batch_size, *(["--model", model_uri] if model_uri else [])]
        seconds, peak_mb, _ = run_process(command, env)
        return seconds, peak_mb, sum(1 for _ in output.open())

    if not args.teacher_ratio:
        seconds, peak_mb, rows = timed(model, env)
        report.note(papers=papers, rows=rows, seconds=round(seconds, 1), papers_per_s=round(rows / seconds),
                    peak_rss_mb=round(peak_mb))
        return report.write()
    if env:
        os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        store, uris = with_and_without_teacher(model or DEFAULT_MODEL_URI, Path(folder) / "mlruns.db")
        for round_ in range(args.teacher_ratio):
            for name, uri in uris.items():
                seconds, peak_mb, rows = timed(uri, {**os.environ, "MLFLOW_TRACKING_URI": store})
                runs.append({"model": name, "round": round_ + 1, "seconds": round(seconds, 1),
                             "peak RSS MB": round(peak_mb), "rows": rows})
    report.table("predict.py runs, alternately", runs)
    medians = {name: statistics.median(run["seconds"] for run in runs if run["model"] == name) for name in uris}
    report.note(papers=papers, median_seconds=medians,
                ratio_with_over_without_teacher=round(medians["with teacher"] / medians["without teacher"], 3))
    return report.write()


if __name__ == "__main__":
    run(main)
