"""Tag the papers of new dumps with their research area.

    python predict.py --input PATH... --output OUT.{jsonl,csv,parquet} [--config YAML] [--model URI] [--format F]
                      [--top-k 3] [--batch-size N] [--engine local|spark] [--master URL] [--max-entry-bytes N]
                      [--explain]

The model is the registered champion of the training config (configs/default.yaml unless --config): its
`mlflow.tracking_uri` (MLFLOW_TRACKING_URI wins), `mlflow.registered_model` and `mlflow.champion_alias`.
"""

from __future__ import annotations

from paper_areas.core.environment import set_run_environment

set_run_environment()

import argparse  # noqa: E402
import sys  # noqa: E402

from paper_areas.core import fail_cleanly, positive  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    from paper_areas.dumps import DEFAULT_MAX_ENTRY_BYTES, FORMATS
    from paper_areas.prediction import DEFAULT_MODEL_URI, ENGINES

    parser = argparse.ArgumentParser(prog="predict.py", description="Predict the research area of every paper.")
    parser.add_argument("--input", nargs="+", required=True, metavar="PATH", help="dumps (any format, gzip ok)")
    parser.add_argument("--output", required=True, metavar="OUT", help="predictions: .jsonl, .csv or .parquet")
    parser.add_argument("--config", metavar="YAML", help="training config whose mlflow.* keys name the store and the "
                                                         "default model (default: configs/default.yaml)")
    parser.add_argument("--model", help="MLflow model URI (in the config's store) or local model folder (default: "
                                        f"the config's registered champion, {DEFAULT_MODEL_URI} by default)")
    parser.add_argument("--format", choices=FORMATS, help="dump format of every input (default: detected per file)")
    parser.add_argument("--top-k", type=positive, default=3, help="areas listed with their probabilities")
    parser.add_argument("--batch-size", type=positive, default=512, help="papers per model call")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--master", help="Spark master URL for --engine spark (default: local[*])")
    parser.add_argument("--max-entry-bytes", type=positive, default=DEFAULT_MAX_ENTRY_BYTES,
                        help="skip (and count) longer entries (default: %(default)s)")
    parser.add_argument("--explain", action="store_true",
                        help="add an evidence column: the keyword LFs that voted for each paper, by area")
    return parser


def main(argv: list[str] | None = None) -> int:
    from paper_areas.pipeline.config import load_config
    from paper_areas.prediction import predict_dumps
    from paper_areas.tracking import champion_uri

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.master and args.engine != "spark":
        parser.error("--master needs --engine spark")
    settings = load_config(args.config).mlflow
    summary = predict_dumps(args.input, args.output,
                            model_uri=args.model or champion_uri(settings.registered_model, settings.champion_alias),
                            input_format=args.format, top_k=args.top_k, batch_size=args.batch_size,
                            engine=args.engine, master=args.master, max_entry_bytes=args.max_entry_bytes,
                            tracking_uri=settings.tracking_uri, explain=args.explain)
    print(summary.report(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
