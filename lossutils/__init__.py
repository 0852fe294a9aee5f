"""lossutils: the shared loss library behind every chapter, exercise and check.

Every loss accepts NumPy arrays or torch tensors and returns the same kind (autograd flows
through tensors, on any device; NumPy keeps float32 as float32). Options are keyword-only and
``reduction`` is "mean" (default), "sum" or "none".
"""

from .classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_divergence,
)
from .custom import asymmetric_mae
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
from .embedding import batch_hard_triplet_loss, pairwise_distances, triplet_margin_loss
from .focal import sigmoid_focal_loss, softmax_focal_loss
from .gradcheck import GradCheckResult, gradcheck, numerical_gradient
from .gradients import (
    binary_cross_entropy_with_logits_grad,
    cross_entropy_grad,
    hinge_grad,
    huber_grad,
    log_cosh_grad,
    mae_grad,
    mse_grad,
    multiclass_hinge_grad,
    quantile_grad,
    sigmoid_focal_loss_grad,
)
from .margin import hinge, multiclass_hinge, squared_hinge
from .metrics import best_thresholds, f1_at_thresholds, multilabel_f1
from .plotting import (
    plot_curves,
    plot_decision_boundary,
    plot_embeddings,
    plot_loss_history,
    plot_precision_recall,
    plot_reliability,
)
from .regression import huber, log_cosh, mae, mse, msle, quantile
from .stable import log_softmax, logsumexp, sigmoid, softmax
from .training import History, mlp, predict, train

__all__ = [
    "GradCheckResult", "History", "Split", "asymmetric_mae", "batch_hard_triplet_loss", "best_thresholds", "f1_at_thresholds", "multilabel_f1",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad", "cross_entropy", "cross_entropy_grad", "device",
    "gradcheck", "hinge", "hinge_grad", "huber", "huber_grad", "kl_divergence",
    "load_breast_cancer", "load_digits", "log_cosh", "log_cosh_grad", "log_softmax", "logsumexp",
    "mae", "mae_grad", "make_clusters", "make_imbalanced_binary", "make_multilabel",
    "make_regression_outliers", "mlp", "mse", "mse_grad", "msle", "multiclass_hinge",
    "multiclass_hinge_grad", "numerical_gradient", "pairwise_distances", "plot_curves",
    "plot_decision_boundary", "plot_embeddings", "plot_loss_history", "plot_precision_recall",
    "plot_reliability", "predict", "quantile", "quantile_grad", "seed_everything", "sigmoid",
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad", "softmax", "softmax_focal_loss",
    "squared_hinge", "train", "triplet_margin_loss",
]
