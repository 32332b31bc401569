"""Train a paper-area classifier from raw dumps, or inspect the labelling functions.

    python train.py [--config configs/default.yaml] [--dumps PATH...] [--gold GOLD.jsonl] [--end-model minilm|tfidf]
                    [--epochs N] [--max-length N] [--seed N] [--experiment NAME] [--engine local|spark]
    python train.py lfs --dumps PATH... [--gold GOLD.jsonl] [--json OUT.json]
    python train.py suggest --dumps PATH... --area SLUG
    python train.py evaluate --model URI --gold GOLD.jsonl [--json OUT.json] [--taxonomy YAML]
"""

from __future__ import annotations

import os

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
                     "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_key, _value)

import argparse  # noqa: E402
import sys  # noqa: E402

from cli import fail_cleanly  # noqa: E402


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py", description="Train on dumps; log and register in MLflow.")
    parser.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    parser.add_argument("--dumps", nargs="+", metavar="PATH", help="dumps to train on (replace the config's)")
    parser.add_argument("--gold", metavar="GOLD.jsonl", help="labelled papers: choose models and epochs, report")
    parser.add_argument("--end-model", choices=["minilm", "tfidf"])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--experiment", help="MLflow experiment name")
    parser.add_argument("--engine", choices=["local", "spark"], help="where the label matrix is built")
    return parser


def run_training(argv: list[str]) -> int:
    from pipeline.config import load_config  # light: a bad config fails before MLflow and torch are loaded

    args = train_parser().parse_args(argv)
    overrides = {
        "dumps": args.dumps,
        "gold": args.gold,
        "engine": args.engine,
        "end_model": {"kind": args.end_model, "epochs": args.epochs, "max_length": args.max_length,
                      "seed": args.seed},
        "mlflow": {"experiment": args.experiment},
    }
    config = load_config(args.config, overrides)
    from pipeline.training import print_next_steps, print_summary, train

    result = train(config)
    print_summary(result.scores)
    print_next_steps(result, config)
    return 0


def run_subcommand(name: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"train.py {name}")
    if name == "evaluate":
        from pipeline.config import DEFAULT_TAXONOMY
        from pipeline.evaluate import run_evaluate

        parser.add_argument("--model", required=True, help="MLflow model URI or local model folder")
        parser.add_argument("--gold", required=True, metavar="GOLD.jsonl")
        parser.add_argument("--json", metavar="OUT.json")
        parser.add_argument("--taxonomy", default=str(DEFAULT_TAXONOMY), metavar="YAML",
                            help="the model's taxonomy: gold labels are its area names or slugs "
                                 "(default: configs/taxonomies/iclr2025.yaml)")
        args = parser.parse_args(argv)
        return run_evaluate(args.model, args.gold, args.json, args.taxonomy)
    from pipeline import lf_commands

    add_arguments, run = {
        "lfs": (lf_commands.add_lfs_arguments, lf_commands.run_lfs),
        "suggest": (lf_commands.add_suggest_arguments, lf_commands.run_suggest),
    }[name]
    add_arguments(parser)
    return run(parser.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("lfs", "suggest", "evaluate"):
        return run_subcommand(argv[0], argv[1:])
    return run_training(argv)


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
