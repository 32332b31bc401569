"""Score any MLflow model against any gold file: the same figures the training run reports."""

from __future__ import annotations

import json
import sys

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from labeling import Taxonomy, TaxonomyError, load_taxonomy
from models import CalibratedClassifier
from models.evaluation import expected_calibration_error, score
from models.pyfunc import TAXONOMY_KEY
from paper_areas.core import UserError, check_output_path, write_output
from paper_areas.pipeline.data import Gold, GoldError, read_gold
from paper_areas.tracking.registry import GOLD_FINGERPRINT_TAG, load_failure, registered_version, require_model
from paper_areas.tracking.store import resolve_tracking_uri


def _use_store(model_uri: str, tracking_uri: str) -> None:
    """Point MLflow at the existing store of `tracking_uri` (MLFLOW_TRACKING_URI wins); a registry URI must name a
    model there."""
    store = resolve_tracking_uri(tracking_uri)
    if model_uri.startswith("models:/"):
        require_model(store, model_uri)
    mlflow.set_tracking_uri(store)


def load_model(model_uri: str, tracking_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model at `model_uri`; what MLflow cannot load (`runs:/x`, a broken folder) raises UserError."""
    _use_store(model_uri, tracking_uri)
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except Exception as error:  # whatever the folder or URI holds that MLflow cannot load is the user's to fix
        raise UserError(f"model {model_uri}: {load_failure(error)}") from None


def _carried_if_readable(model_uri: str, tracking_uri: str) -> str | None:
    """The taxonomy the model at `model_uri` carries, from its MLmodel file alone; None: it names none, or no model."""
    try:
        _use_store(model_uri, tracking_uri)
        return (mlflow.models.get_model_info(model_uri).metadata or {}).get(TAXONOMY_KEY)
    except (UserError, MlflowException, OSError):
        return None


def refuse_another_taxonomy(model_uri: str, carried: str | None, taxonomy: Taxonomy) -> None:
    if carried is not None and carried != taxonomy.name:
        raise TaxonomyError(f"model {model_uri} carries taxonomy {carried!r}, not {taxonomy.name!r} of "
                            f"{taxonomy.path} (pass the model's taxonomy with --taxonomy)")


def checked_gold_and_model(model_uri: str, gold_path: str, taxonomy: Taxonomy, tracking_uri: str
                           ) -> tuple[Gold, mlflow.pyfunc.PyFuncModel, str | None]:
    """The gold papers (labels: area names or slugs of `taxonomy`), the model and the taxonomy it carries (None:
    none); a model carrying another taxonomy is refused, and named when the gold labels do not fit `taxonomy`."""
    try:
        gold = read_gold(gold_path, taxonomy)
    except GoldError:  # labels of another taxonomy: say so when the model carries another one
        refuse_another_taxonomy(model_uri, _carried_if_readable(model_uri, tracking_uri), taxonomy)
        raise
    model = load_model(model_uri, tracking_uri)
    carried = (model.metadata.metadata or {}).get(TAXONOMY_KEY)
    refuse_another_taxonomy(model_uri, carried, taxonomy)
    return gold, model, carried


def _calibrated_on(model_uri: str, model: mlflow.pyfunc.PyFuncModel, gold: Gold) -> bool:
    """Whether the registered model at `model_uri` is calibrated and was scored (so calibrated) on `gold`'s papers."""
    classifier = getattr(model.unwrap_python_model(), "classifier", None)
    if not model_uri.startswith("models:/") or not isinstance(classifier, CalibratedClassifier):
        return False
    return registered_version(model_uri).tags.get(GOLD_FINGERPRINT_TAG) == gold.fingerprint()


def run_evaluate(model_uri: str, gold_path: str, json_path: str | None, taxonomy_path: str, tracking_uri: str) -> int:
    """`train.py evaluate`: score the model's predictions on the gold papers (a model predicting areas outside the
    taxonomy is refused); print its taxonomy, the scores and the per-area report, optionally write them as JSON."""
    if json_path:
        check_output_path(json_path, [gold_path, taxonomy_path, model_uri])
    taxonomy = load_taxonomy(taxonomy_path)
    gold, model, carried = checked_gold_and_model(model_uri, gold_path, taxonomy, tracking_uri)
    predicted = model.predict(gold.frame[["title", "abstract"]])
    areas = predicted["area"].astype(str)
    unknown = sorted(set(areas) - set(taxonomy.slugs))
    if unknown:
        raise GoldError(f"model {model_uri} predicts area {unknown[0]!r}, not an area of taxonomy "
                        f"{taxonomy.name!r} (pass the model's taxonomy with --taxonomy)")
    scores = score(gold.y, np.array([taxonomy.index(slug) for slug in areas], dtype=int), taxonomy.names)
    probabilities = predicted[[f"prob_{slug}" for slug in taxonomy.slugs]].to_numpy(dtype=float)
    ece = expected_calibration_error(probabilities, gold.y)  # of `confidence`, from the `prob_<slug>` columns
    in_sample = _calibrated_on(model_uri, model, gold)  # calibrated on these very papers
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(scores.per_area.round(3).to_string())
    named = (f"taxonomy {carried!r}" if carried else
             f"taxonomy {taxonomy.name!r} (from --taxonomy: the model does not name its taxonomy)")
    print(f"\nmodel {model_uri}, {named}")
    print(f"{scores.n} gold papers: accuracy {scores.accuracy:.4f}, macro-F1 {scores.macro_f1:.4f}, "
          f"expected calibration error of confidence {ece:.4f}")
    if in_sample:
        print("note: the model's calibration was fitted on these gold papers, so its calibration error here (with "
              "class offsets, its accuracy and macro-F1 too) is in-sample; the held-out figures are its run's "
              "gold.end_model.* metrics, cross-fitted on two halves of gold")
    if json_path:
        report = {"model": model_uri, "taxonomy": carried, "gold": gold_path, "n_papers": scores.n, **scores.summary(),
                  "ece": ece, "calibrated_on_this_gold": in_sample,
                  "per_area": scores.per_area.round(6).to_dict(orient="index")}
        write_output(json_path, json.dumps(report, indent=2) + "\n")
        print(f"wrote {json_path}", file=sys.stderr)
    return 0
