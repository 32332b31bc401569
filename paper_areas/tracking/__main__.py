"""`python -m paper_areas.tracking`: print the tracking URI every entry point uses; `--model URI` also checks it is
there."""

from __future__ import annotations

import argparse
import sys

from paper_areas.core import fail_cleanly
from paper_areas.tracking.store import resolve_tracking_uri


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m paper_areas.tracking", description=__doc__)
    parser.add_argument("--model", metavar="URI", help="fail with one line unless this models:/ URI resolves")
    args = parser.parse_args()
    uri = resolve_tracking_uri()
    if args.model:
        from paper_areas.tracking.registry import require_model  # loads MLflow: only when a model is to be checked

        require_model(uri, args.model)
    print(uri)
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
