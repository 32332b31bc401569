"""The training job: validated config, dumps -> votes -> labels -> end model -> evaluation -> MLflow."""
