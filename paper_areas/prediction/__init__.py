"""Predicting areas for new dumps: streaming local engine, Spark engine, output writers."""

from paper_areas.prediction.engines import LocalEngine, SparkEngine
from paper_areas.prediction.model import DEFAULT_MODEL_URI, ModelError, load_model, resolve_model_uri
from paper_areas.prediction.outputs import OUTPUT_FORMATS, OutputError, PredictionWriter, output_format, prediction_rows
from paper_areas.prediction.run import ENGINES, PredictionSummary, predict_dumps

__all__ = [
    "DEFAULT_MODEL_URI",
    "ENGINES",
    "OUTPUT_FORMATS",
    "LocalEngine",
    "ModelError",
    "OutputError",
    "PredictionSummary",
    "PredictionWriter",
    "SparkEngine",
    "load_model",
    "output_format",
    "predict_dumps",
    "prediction_rows",
    "resolve_model_uri",
]
