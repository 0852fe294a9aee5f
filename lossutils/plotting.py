"""Plotting helpers shared by the chapters. Each takes ``ax=None`` and returns the Axes it drew on.

Importing this module (``import lossutils`` does) applies the book's plot style, :data:`STYLE`:
fonts large enough that a figure shown at half its pixel width, as a phone shows the book's
multi-panel figures, still has axis text at least 8 CSS px tall. ``matplotlib.rcdefaults()``
undoes it; :func:`use_book_style` applies it again.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .training import History

#: Resolution of the figures the book shows (matplotlib's inline backend default), dots per inch.
FIGURE_DPI = 100
#: The smallest text on an axis (tick labels), in points.
MIN_AXIS_TEXT_PT = 12
#: The site never shows a figure at less than this fraction of its pixel width (a wider figure
#: scrolls sideways in its own box); book/_ext/publishing.py hands it to book/_static/reader.js.
MIN_DISPLAY_SCALE = 0.5

#: The book's matplotlib settings (rcParams). Tick labels at ``MIN_AXIS_TEXT_PT`` points are
#: ``MIN_AXIS_TEXT_PT * FIGURE_DPI / 72`` image pixels tall, 8.3 CSS px at ``MIN_DISPLAY_SCALE``.
STYLE = {
    "figure.dpi": FIGURE_DPI,
    "savefig.dpi": FIGURE_DPI,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "xtick.labelsize": MIN_AXIS_TEXT_PT,
    "ytick.labelsize": MIN_AXIS_TEXT_PT,
    "legend.fontsize": MIN_AXIS_TEXT_PT,
    "legend.title_fontsize": MIN_AXIS_TEXT_PT,
    "figure.titlesize": 15,
}


def axis_text_sizes_pt() -> list[float]:
    """Point sizes of the axis text (labels, ticks, legend) under the current rcParams."""
    from matplotlib.font_manager import FontProperties

    keys = ["axes.labelsize", "xtick.labelsize", "ytick.labelsize", "legend.fontsize"]
    return [FontProperties(size=mpl.rcParams[k]).get_size_in_points() for k in keys]


def use_book_style() -> None:
    """Apply :data:`STYLE` to matplotlib's rcParams (done once when lossutils is imported).

    >>> use_book_style(); min(axis_text_sizes_pt()) >= MIN_AXIS_TEXT_PT
    True
    """
    mpl.rcParams.update(STYLE)


use_book_style()


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_curves(x, curves: dict, *, ax=None, xlabel: str = "", ylabel: str = "", title: str = ""):
    """One line per entry of ``curves`` (label -> y values) against ``x``, e.g. losses vs residual."""
    ax = _axes(ax)
    x = np.asarray(x)
    for label, y in curves.items():
        ax.plot(x, np.asarray(y), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_loss_history(histories, *, ax=None, log: bool = False):
    """Training (solid) and validation (dashed) loss per epoch for one ``History`` or a dict of them."""
    ax = _axes(ax)
    if isinstance(histories, History):
        histories = {"train": histories}
    for i, (label, h) in enumerate(histories.items()):
        colour = f"C{i}"
        ax.plot(np.arange(1, len(h.loss) + 1), h.loss, color=colour, label=label)
        if h.val_loss:
            ax.plot(np.arange(1, len(h.val_loss) + 1), h.val_loss, "--", color=colour,
                    label=f"{label} (validation)")
    ax.set(xlabel="epoch", ylabel="loss")
    if log:
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_decision_boundary(predict: Callable, X, y, *, ax=None, resolution: int = 200):
    """Colour the plane by ``predict`` (scores or labels on an (m, 2) grid) and scatter the data.

    Scores are drawn as filled contours with the 0 level (or 0.5 for values in [0, 1]) as a line;
    integer labels as class regions.
    """
    ax = _axes(ax)
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points of shape (n, 2), got {X.shape}")
    pad = 0.5
    (x0, y0), (x1, y1) = X.min(0) - pad, X.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()]).astype(np.float32)
    z = np.asarray(predict(grid)).reshape(gx.shape)
    if np.issubdtype(z.dtype, np.integer):
        ax.contourf(gx, gy, z, levels=np.arange(z.max() + 2) - 0.5, cmap="tab10", alpha=0.25)
    else:
        level = 0.5 if z.min() >= 0 and z.max() <= 1 else 0.0
        cs = ax.contourf(gx, gy, z, levels=20, cmap="RdBu_r", alpha=0.4)
        ax.contour(gx, gy, z, levels=[level], colors="k", linewidths=1.5)
        plt.colorbar(cs, ax=ax, label="score")
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10" if len(np.unique(y)) > 2 else "coolwarm",
               s=14, edgecolors="k", linewidths=0.3)
    ax.set(xlabel="$x_1$", ylabel="$x_2$")
    return ax


def _pca_2d(emb: np.ndarray) -> np.ndarray:
    centred = emb - emb.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_embeddings(emb, labels, *, ax=None, title: str = ""):
    """Scatter embeddings coloured by label, projected to 2-D by PCA when they have more dimensions."""
    ax = _axes(ax)
    emb = np.asarray(emb, dtype=np.float64)
    labels = np.asarray(labels)
    pts = emb if emb.shape[1] <= 2 else _pca_2d(emb)
    if pts.shape[1] == 1:
        pts = np.column_stack([pts[:, 0], np.zeros(len(pts))])
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=labels, cmap="tab10", s=12)
    ax.legend(*sc.legend_elements(), title="label", fontsize="small", loc="best")
    ax.set(title=title, xlabel="component 1", ylabel="component 2")
    return ax


def plot_precision_recall(y_true, scores: dict, *, ax=None):
    """Precision-recall curves (with average precision in the legend) for several score vectors."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    ax = _axes(ax)
    y_true = np.asarray(y_true)
    for label, s in scores.items():
        p, r, _ = precision_recall_curve(y_true, np.asarray(s))
        ap = average_precision_score(y_true, np.asarray(s))
        ax.plot(r, p, label=f"{label} (AP = {ap:.2f})")
    ax.axhline(y_true.mean(), color="0.6", ls=":", label="chance")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_reliability(y_true, probs, *, n_bins: int = 10, ax=None):
    """Reliability diagram: mean predicted probability vs observed frequency in equal-width bins.

    A calibrated model lies on the diagonal. ``probs`` are positive-class probabilities (binary) or
    an (N, C) matrix, in which case the confidence of the predicted class is used.
    """
    ax = _axes(ax)
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=np.float64)
    if probs.ndim == 2:
        conf, hit = probs.max(1), (probs.argmax(1) == y_true).astype(float)
    else:
        conf, hit = probs, y_true.astype(float)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(conf, edges) - 1, 0, n_bins - 1)
    mids, freq, ece = [], [], 0.0
    for b in range(n_bins):
        mask = which == b
        if mask.any():
            mids.append(conf[mask].mean())
            freq.append(hit[mask].mean())
            ece += mask.mean() * abs(mids[-1] - freq[-1])
    ax.plot([0, 1], [0, 1], ":", color="0.5", label="perfect calibration")
    ax.plot(mids, freq, "o-", label=f"model (ECE = {ece:.3f})")
    ax.set(xlabel="predicted probability", ylabel="observed frequency", xlim=(0, 1), ylim=(0, 1))
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
