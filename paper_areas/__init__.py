"""paper-areas: the application layer (reading dumps, training, prediction, MLflow tracking) over `labeling` and
`models`; `paper_areas.core` is the layer every package stands on."""
