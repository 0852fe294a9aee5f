"""lossutils: the shared loss library behind every chapter, exercise and check."""
from .data import (
    Split,
    load_breast_cancer,
    load_digits,
    make_clusters,
    make_imbalanced_binary,
    make_multilabel,
    make_regression_outliers,
)
from .device import device, seed_everything
from .plotting import (
    plot_curves,
    plot_decision_boundary,
    plot_embeddings,
    plot_loss_history,
    plot_precision_recall,
    plot_reliability,
)
from .training import History, mlp, predict, train
