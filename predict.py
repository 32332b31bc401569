"""Tag the papers of new dumps with their research area.

    python predict.py --input PATH... --output OUT.{jsonl,csv,parquet} [--model URI] [--format F] [--top-k 3]
                      [--batch-size N] [--engine local|spark] [--master URL] [--max-entry-bytes N]
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
    parser.add_argument("--model", default=DEFAULT_MODEL_URI,
                        help=f"MLflow model URI or local model folder (default: {DEFAULT_MODEL_URI})")
    parser.add_argument("--format", choices=FORMATS, help="dump format of every input (default: detected per file)")
    parser.add_argument("--top-k", type=positive, default=3, help="areas listed with their probabilities")
    parser.add_argument("--batch-size", type=positive, default=512, help="papers per model call")
    parser.add_argument("--engine", choices=ENGINES, default="local")
    parser.add_argument("--master", help="Spark master URL for --engine spark (default: local[*])")
    parser.add_argument("--max-entry-bytes", type=positive, default=DEFAULT_MAX_ENTRY_BYTES,
                        help="skip (and count) longer entries (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from paper_areas.prediction import predict_dumps

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.master and args.engine != "spark":
        parser.error("--master needs --engine spark")
    summary = predict_dumps(args.input, args.output, model_uri=args.model, input_format=args.format,
                            top_k=args.top_k, batch_size=args.batch_size, engine=args.engine, master=args.master,
                            max_entry_bytes=args.max_entry_bytes)
    print(summary.report(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
