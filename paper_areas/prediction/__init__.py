"""Predicting areas for new dumps: streaming local engine, Spark engine, output writers."""

from paper_areas.prediction.model import DEFAULT_MODEL_URI, ModelError, load_model
from paper_areas.prediction.outputs import OutputError, PredictionWriter, prediction_rows
from paper_areas.prediction.run import ENGINES, predict_dumps

__all__ = ["DEFAULT_MODEL_URI", "ENGINES", "ModelError", "OutputError", "PredictionWriter", "load_model",
           "predict_dumps", "prediction_rows"]
