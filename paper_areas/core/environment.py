"""The process environment every entry point sets first: offline models, no telemetry, quiet third parties.

`python -m paper_areas.core.environment COMMAND [ARG...]` runs a command in it, as `env` would: the Makefile starts
`mlflow ui` and the model server so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # the checkout: labeling/, models/, paper_areas/, configs/

RUN_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",  # the MiniLM weights come with a package; nothing is downloaded at run time
    "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TOKENIZERS_PARALLELISM": "false",
    # The product's own progress lines and bars stay; third-party ones ("Loading weights", "Downloading
    # artifacts") and MLflow's INFO lines go.
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}


def set_run_environment() -> None:
    """Set each RUN_ENVIRONMENT variable the user has not set; call before importing transformers or MLflow."""
    for key, value in RUN_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m paper_areas.core.environment COMMAND [ARG...]")
    set_run_environment()
    os.execvp(sys.argv[1], sys.argv[1:])
