"""Tables and plots logged to the active MLflow run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def log_frame(frame: pd.DataFrame, artifact_file: str, index: bool = True) -> None:
    """Log a table as CSV (readable anywhere) under `artifact_file`."""
    mlflow.log_text(frame.to_csv(index=index), artifact_file)


def log_confusion_matrix(confusion: np.ndarray, labels: list[str], title: str, artifact_file: str) -> None:
    """Log a row-normalised confusion-matrix heat map (rows gold, columns predicted, last column abstain)."""
    columns = labels + (["(abstain)"] if confusion.shape[1] > len(labels) else [])
    rows = confusion.sum(axis=1, keepdims=True)
    share = np.divide(confusion, rows, out=np.zeros(confusion.shape, dtype=float), where=rows > 0)
    size = 4 + 0.42 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, str(count), ha="center", va="center", fontsize=6,
                    color="white" if share[row, col] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    log_figure(fig, artifact_file)


def log_label_distribution(distributions: dict[str, np.ndarray], labels: list[str], artifact_file: str) -> None:
    """Log a grouped bar chart of the share of papers per area, one bar group per named distribution."""
    fig, ax = plt.subplots(figsize=(12, 5))
    width = 0.8 / max(len(distributions), 1)
    positions = np.arange(len(labels))
    for i, (name, shares) in enumerate(distributions.items()):
        ax.bar(positions + i * width, shares, width, label=name)
    ax.set_xticks(positions + 0.4 - width / 2, labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("share of papers")
    ax.set_title("Label distribution per area")
    ax.legend()
    fig.tight_layout()
    log_figure(fig, artifact_file)


def log_figure(figure: plt.Figure, artifact_file: str) -> None:
    """Log a matplotlib figure as an image under `artifact_file`, then close it."""
    mlflow.log_figure(figure, artifact_file)
    plt.close(figure)
