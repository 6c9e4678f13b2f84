"""PNG figures (training curves, confusion matrix); matplotlib is imported only here, and only when called."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, history.get(metric, []), "o-", label=f"train {metric}")
        ax.plot(epochs, history.get(f"val_{metric}", []), "o-", label=f"val {metric}")
        ax.set_xlabel("epoch")
        ax.set_title(f"Training and validation {metric}")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def confusion_matrix_png(cm: np.ndarray, path: Path, title: str) -> None:
    plt = _plt()
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(9, 8))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cm)))
    ax.set_yticks(range(len(cm)))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title + " (normalized by true class)")
    for i in range(len(cm)):
        for j in range(len(cm)):
            if norm[i, j] >= 0.1:
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    fig.colorbar(im)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
