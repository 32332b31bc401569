"""`python -m paper_areas.tracking [--config FILE] [--model [URI]]`: print the tracking URI of the config's store
(MLFLOW_TRACKING_URI wins, as for every entry point); `--model` also checks that the model is there (by default the
config's registered champion) and prints its URI on a second line. `make ui` and `make serve` ask this command, an
entry point like train.py (so it may read the training config of paper_areas.pipeline)."""

from __future__ import annotations

import argparse
import sys

from paper_areas.core import fail_cleanly
from paper_areas.core.environment import set_run_environment
from paper_areas.pipeline.config import load_config  # light: YAML and the schema, no MLflow
from paper_areas.tracking.store import champion_uri, resolve_tracking_uri


def main() -> int:
    set_run_environment()
    parser = argparse.ArgumentParser(prog="python -m paper_areas.tracking", description=__doc__.splitlines()[0])
    parser.add_argument("--config", metavar="FILE", help="training config whose mlflow.* keys name the store and the "
                                                         "champion (default: configs/default.yaml)")
    parser.add_argument("--model", metavar="URI", nargs="?", const="",
                        help="fail with one line unless this models:/ URI resolves (no URI: the config's champion)")
    args = parser.parse_args()
    settings = load_config(args.config).mlflow
    uri = resolve_tracking_uri(settings.tracking_uri)
    if args.model is None:
        print(uri)
        return 0
    from paper_areas.tracking.registry import require_model  # loads MLflow: only when a model is to be checked

    model = args.model or champion_uri(settings.registered_model, settings.champion_alias)
    require_model(uri, model)
    print(f"{uri}\n{model}")
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
