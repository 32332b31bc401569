"""Train a paper-area classifier from raw dumps, build its taxonomy, inspect its labelling functions, evaluate it:
`python train.py --help` lists the commands (without one, train.py trains), `train.py COMMAND --help` its options."""

from __future__ import annotations

from paper_areas.core.environment import set_run_environment

set_run_environment()

import argparse  # noqa: E402
import sys  # noqa: E402

from paper_areas.core import fail_cleanly, positive  # noqa: E402
from paper_areas.pipeline import config, lf_commands  # noqa: E402  (light: pydantic, YAML; the rest when run)

TRAIN = "train"  # the subcommand a command line without one runs
LABEL_PORT = 5002  # `make ui` serves on 5000, `make serve` on 5001


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (default: configs/default.yaml)")
    gold = parser.add_mutually_exclusive_group()
    config.add_flags(parser, groups={"gold": gold})  # one option per config key that has a Flag in the schema
    gold.add_argument("--no-gold", action="store_true", help="ignore the config's gold: train as without labels")


def add_model_and_gold_arguments(parser: argparse.ArgumentParser, model_help: str, gold_help: str) -> None:
    parser.add_argument("--model", required=True, help=model_help)
    parser.add_argument("--gold", required=True, metavar="GOLD.jsonl", help=gold_help)
    parser.add_argument("--taxonomy", metavar="YAML",
                        help="the model's taxonomy: gold labels are its area names or slugs (default: the config's, "
                             "else configs/taxonomies/iclr2025.yaml)")
    parser.add_argument("--config", metavar="YAML", help="a training config: a registry URI is looked up in the store "
                                                         "its mlflow.tracking_uri names (default: the repo's store)")


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_gold_arguments(parser, "MLflow model URI or local model folder", "labelled papers to score on")
    parser.add_argument("--json", metavar="OUT.json")


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_gold_arguments(parser, "a registered model: models:/NAME/VERSION or models:/NAME@ALIAS",
                                 "labelled papers to calibrate on (a few hundred: see docs/calibration.md)")
    parser.add_argument("--kind", choices=[kind for kind in config.CALIBRATIONS if kind != "none"], default="isotonic",
                        help="the calibrator (default: isotonic)")
    parser.add_argument("--class-offsets", action="store_true",
                        help="first fit one offset per area on gold, moving the areas to its class balance (this "
                             "changes predictions; the scores are then cross-fitted on two halves of gold)")


def run_training(args: argparse.Namespace) -> int:
    settings = config.load_config(args.config, config.flag_overrides(args))  # before MLflow and torch are loaded
    if args.no_gold:
        settings.gold = None
    from paper_areas.pipeline.training import print_next_steps, print_summary, train

    result = train(settings)
    print_summary(result.scores, result.measured_on)
    print_next_steps(result, settings)
    return 0


def run_on_gold(args: argparse.Namespace) -> int:
    """`evaluate` or `calibrate`: the taxonomy of --taxonomy, else of --config, else the default; --config's store."""
    settings = config.load_config(args.config) if args.config else None
    taxonomy = args.taxonomy or (settings.taxonomy if settings else str(config.DEFAULT_TAXONOMY))
    mlflow_settings = settings.mlflow if settings else config.MlflowConfig()
    if args.command == "evaluate":
        from paper_areas.pipeline.evaluate import run_evaluate

        return run_evaluate(args.model, args.gold, args.json, taxonomy, mlflow_settings.tracking_uri)
    from paper_areas.pipeline.versions import run_calibrate

    return run_calibrate(args.model, args.gold, taxonomy, args.kind, args.class_offsets, mlflow_settings)


def add_select_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config: its taxonomy, dumps (the pool) and champion model (default: "
                                         "configs/default.yaml)")
    parser.add_argument("--n", type=positive, required=True, help="how many papers to choose")
    parser.add_argument("--output", required=True, metavar="FILE",
                        help="the label sheet to write: .csv or .jsonl (an empty label column), or .json (Label "
                             "Studio tasks, the suggested area as a pre-annotation, and its labelling config beside "
                             "it as .xml)")
    parser.add_argument("--pool", nargs="+", metavar="DUMP", help="choose from these dumps (default: the config's)")
    parser.add_argument("--labelled", nargs="+", default=[], metavar="FILE",
                        help="sheets of earlier rounds: their papers are not chosen again")
    parser.add_argument("--model", help="the model that scores the pool (default: the config's champion)")
    parser.add_argument("--seed", type=int, default=0)


def run_select(args: argparse.Namespace) -> int:
    settings = config.load_config(args.config)
    from paper_areas.prediction.select import run_select as select

    return select(settings, args.n, args.output, args.pool, args.labelled, args.model, args.seed)


def add_hand_label_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="a registered model: models:/NAME/VERSION or models:/NAME@ALIAS")
    parser.add_argument("--hand-labels", required=True, nargs="+", metavar="SHEET",
                        help="this round's label sheets (the model has learnt the earlier rounds')")
    parser.add_argument("--config", help="YAML config: taxonomy, store, gold (scores and calibrates, when given) and "
                                         "the hand_labels settings (default: configs/default.yaml)")
    gold = parser.add_mutually_exclusive_group()
    gold.add_argument("--gold", metavar="GOLD.jsonl", help="score and calibrate on these labelled papers")
    gold.add_argument("--no-gold", action="store_true",
                      help="ignore the config's gold: score and calibrate on the hand labels, out of fold")


def run_add_labels(args: argparse.Namespace) -> int:
    settings = config.load_config(args.config, {"gold": args.gold, "hand_labels": {"sheets": args.hand_labels}})
    if args.no_gold:
        settings.gold = None
    from paper_areas.pipeline.versions import run_add_labels as add_labels

    return add_labels(args.model, settings)


def add_label_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, metavar="SHEET", help="the label sheet (.csv or .jsonl) to label")
    parser.add_argument("--config", help="YAML config whose taxonomy the areas come from (default: "
                                         "configs/default.yaml)")
    parser.add_argument("--port", type=positive, default=LABEL_PORT,
                        help=f"serve on http://127.0.0.1:PORT (default: {LABEL_PORT})")


def run_label(args: argparse.Namespace) -> int:
    settings = config.load_config(args.config)
    from labeling import load_taxonomy
    from paper_areas.hand_labels.page import LabellingSession, serve

    session = LabellingSession(args.input, load_taxonomy(settings.taxonomy))
    progress = session.state()
    print(f"labelling {args.input}: {progress['answered']} of {progress['total']} papers answered; open "
          f"http://127.0.0.1:{args.port} (each answer is saved as it is given; Ctrl-C stops)", file=sys.stderr)
    serve(session, args.port)
    return 0


COMMANDS = {  # name: (help, add its arguments, run it)
    TRAIN: ("train on dumps, log and register the model in MLflow (the default: train.py [--config ...])",
            add_training_arguments, run_training),
    "init-taxonomy": ("write a first taxonomy YAML from a CSV of area names and descriptions",
                      lf_commands.add_init_taxonomy_arguments, lf_commands.run_init_taxonomy),
    "suggest": ("candidate keywords for an area, from its papers or (before any keyword) its description",
                lf_commands.add_suggest_arguments, lf_commands.run_suggest),
    "lfs": ("the labelling functions' coverage, conflicts and votes per area (with gold: accuracies)",
            lf_commands.add_lfs_arguments, lf_commands.run_lfs),
    "select": ("choose the papers worth labelling by hand and write them as a label sheet", add_select_arguments,
               run_select),
    "label": ("label a sheet's papers on a local page, one at a time", add_label_arguments, run_label),
    "evaluate": ("score a model against a gold file", add_evaluate_arguments, run_on_gold),
    "calibrate": ("calibrate a registered model's confidence on gold papers, without retraining (a new version)",
                  add_calibrate_arguments, run_on_gold),
    "add-labels": ("fine-tune a registered model on a round of hand labels, without the weak-label training (a new "
                   "version)", add_hand_label_arguments, run_add_labels),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train.py", usage="train.py [COMMAND] [options]",
        description="Train a paper-area classifier on dumps, or work on its taxonomy.",
        epilog="Without a command, train.py trains: `train.py [--config YAML] [...]` is `train.py train [...]`; "
               "`train.py COMMAND --help` lists a command's options.")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    for name, (summary, add_arguments, run) in COMMANDS.items():
        command = commands.add_parser(name, prog=f"train.py {name}", help=summary,
                                      description=summary[0].upper() + summary[1:] + ".")
        add_arguments(command)
        command.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv = [TRAIN, *argv]
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
