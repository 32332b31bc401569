"""End models trained on probabilistic labels: fine-tuned MiniLM, TF-IDF baseline, zero-shot, MLflow pyfunc."""
