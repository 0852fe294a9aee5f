"""Known-wrong and fragile answers to ps06_triplet and the parts each must lose.

``triplet_margin_loss`` takes one difference per row and has no numerical trap, so it has no
"stability" part; ``batch_hard_triplet_loss`` has one (the Gram-matrix distance shortcut).
"""

from tests.course_cases import Variant

_TRIPLET_SQUARED = """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    d_ap = np.sum((anchor - positive + 1e-6) ** 2, axis=-1)
    d_an = np.sum((anchor - negative + 1e-6) ** 2, axis=-1)
    loss = np.maximum(0.0, d_ap - d_an + margin)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_TRIPLET_NO_CLAMP = """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    d_ap = np.sqrt(np.sum((anchor - positive + 1e-6) ** 2, axis=-1))
    d_an = np.sqrt(np.sum((anchor - negative + 1e-6) ** 2, axis=-1))
    loss = d_ap - d_an + margin
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_TRIPLET_NO_EPS = """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    d_ap = np.linalg.norm(anchor - positive, axis=-1)
    d_an = np.linalg.norm(anchor - negative, axis=-1)
    loss = np.maximum(0.0, d_ap - d_an + margin)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_TRIPLET_MARGIN_ONE = """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    d_ap = np.sqrt(np.sum((anchor - positive + 1e-6) ** 2, axis=-1))
    d_an = np.sqrt(np.sum((anchor - negative + 1e-6) ** 2, axis=-1))
    loss = np.maximum(0.0, d_ap - d_an + 1.0)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""

_HARD_HEAD = """
def _distances(x):
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))

def _masks(labels):
    same = labels[:, None] == labels[None, :]
    return same & ~np.eye(len(labels), dtype=bool), ~same
"""

_HARD_GRAM = """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    x = embeddings
    sq = (x**2).sum(axis=1)
    dist = np.sqrt(sq[:, None] - 2.0 * x @ x.T + sq[None, :])
    same = labels[:, None] == labels[None, :]
    pos, neg = same & ~np.eye(len(labels), dtype=bool), ~same
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0.0
    hp = np.where(pos, dist, -np.inf).max(1)
    hn = np.where(neg, dist, np.inf).min(1)
    return np.maximum(0.0, hp - hn + margin)[valid].mean()
"""

_HARD_EASIEST_POSITIVE = (
    _HARD_HEAD
    + """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    dist = _distances(embeddings)
    pos, neg = _masks(labels)
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0.0
    easy_pos = np.where(pos, dist, np.inf).min(1)
    hn = np.where(neg, dist, np.inf).min(1)
    return np.maximum(0.0, easy_pos - hn + margin)[valid].mean()
"""
)

_HARD_SELF_POSITIVE = (
    _HARD_HEAD
    + """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    dist = _distances(embeddings)
    same = labels[:, None] == labels[None, :]
    valid = (~same).any(1)
    if not valid.any():
        return 0.0
    hp = np.where(same, dist, -np.inf).max(1)
    hn = np.where(~same, dist, np.inf).min(1)
    return np.maximum(0.0, hp - hn + margin)[valid].mean()
"""
)

_HARD_MEAN_OVER_N = (
    _HARD_HEAD
    + """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    dist = _distances(embeddings)
    pos, neg = _masks(labels)
    valid = pos.any(1) & neg.any(1)
    hp = np.where(pos, dist, 0.0).max(1)
    hn = np.where(neg, dist, np.inf).min(1)
    loss = np.where(valid, np.maximum(0.0, hp - hn + margin), 0.0)
    return loss.mean()
"""
)

_HARD_MARGIN_ONE = (
    _HARD_HEAD
    + """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    dist = _distances(embeddings)
    pos, neg = _masks(labels)
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0.0
    hp = np.where(pos, dist, -np.inf).max(1)
    hn = np.where(neg, dist, np.inf).min(1)
    return np.maximum(0.0, hp - hn + 1.0)[valid].mean()
"""
)

CASES: dict[str, list[Variant]] = {
    "triplet_margin_loss": [
        Variant(
            "squared distances",
            _TRIPLET_SQUARED,
            fails=frozenset({"basic", "edge", "params"}),
            says=("you used squared distances",),
        ),
        Variant(
            "no max(0, .)",
            _TRIPLET_NO_CLAMP,
            fails=frozenset({"basic", "edge", "params"}),
            says=("you left out the max(0, .)",),
        ),
        Variant("no eps", _TRIPLET_NO_EPS, fails=frozenset({"edge"}), says=("you left out eps",)),
        Variant(
            "margin fixed at 1",
            _TRIPLET_MARGIN_ONE,
            fails=frozenset({"params"}),
            says=("the loss for margin = 1",),
        ),
    ],
    "batch_hard_triplet_loss": [
        Variant(
            "Gram-matrix distances",
            _HARD_GRAM,
            fails=frozenset({"stability"}),
            says=("compute the differences x_i - x_j directly",),
        ),
        Variant(
            "easiest positive",
            _HARD_EASIEST_POSITIVE,
            fails=frozenset({"basic", "edge", "stability", "params"}),
            says=("you took the easiest positive",),
        ),
        Variant(
            "anchor as its own positive",
            _HARD_SELF_POSITIVE,
            fails=frozenset({"edge"}),
            says=("you let it use itself",),
        ),
        Variant(
            "mean over all N anchors",
            _HARD_MEAN_OVER_N,
            fails=frozenset({"edge"}),
            says=("you divided by N",),
        ),
        Variant(
            "margin fixed at 1",
            _HARD_MARGIN_ONE,
            fails=frozenset({"params"}),
            says=("the loss for margin = 1",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["triplet_margin_loss"] += [
    Variant(
        "eps under the square root",
        """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    d_ap = np.sqrt(np.sum((anchor - positive) ** 2, axis=-1) + 1e-6)
    d_an = np.sqrt(np.sum((anchor - negative) ** 2, axis=-1) + 1e-6)
    loss = np.maximum(0.0, d_ap - d_an + margin)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
""",
        fails=frozenset({"edge"}),
        says=("not under the square root",),
    ),
    Variant(
        "calls torch (forbidden)",
        """
import torch

def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    a, p, n = (torch.from_numpy(np.asarray(x, dtype=float)) for x in (anchor, positive, negative))
    return torch.nn.functional.triplet_margin_loss(a, p, n, margin=margin, reduction=reduction)
""",
        fails=frozenset({"basic", "edge", "params"}),
        says=("triplet_margin_loss called torch.", "this exercise forbids lossutils, torch and sklearn"),
    ),
]
CASES["batch_hard_triplet_loss"].append(
    Variant(
        "hardest negative from a zero-filled matrix",
        _HARD_HEAD
        + """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    dist = _distances(embeddings)
    pos, neg = _masks(labels)
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0.0
    hp = np.where(pos, dist, -np.inf).max(1)
    hn = np.where(neg, dist, 0.0).min(1)
    return np.maximum(0.0, hp - hn + margin)[valid].mean()
""",
        fails=frozenset({"basic", "edge", "stability", "params"}),
        says=("your hardest negative is 0 for every anchor",),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "triplet_margin_loss": [
        Variant(
            "np.linalg.norm(a - p + 1e-6, axis=-1)",
            """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    a, p, n = (np.asarray(x, dtype=float) for x in (anchor, positive, negative))
    each = np.maximum(
        np.linalg.norm(a - p + 1e-6, axis=-1) - np.linalg.norm(a - n + 1e-6, axis=-1) + margin,
        0.0,
    )
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "per-triplet loop with np.atleast_2d, a Python float for (D,)",
            """
import math

def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    one = np.ndim(anchor) == 1
    a, p, n = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (anchor, positive, negative))
    each = []
    for ai, pi, ni in zip(a, p, n):
        d_ap = math.sqrt(sum((x - y + 1e-6) ** 2 for x, y in zip(ai, pi)))
        d_an = math.sqrt(sum((x - y + 1e-6) ** 2 for x, y in zip(ai, ni)))
        each.append(max(0.0, d_ap - d_an + margin))
    each = np.array(each)
    if one:
        return float(each[0])
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
        Variant(
            "np.einsum for the squared norms",
            """
def triplet_margin_loss(anchor, positive, negative, *, margin=1.0, reduction="mean"):
    a, p, n = (np.asarray(x, dtype=float) for x in (anchor, positive, negative))
    dp, dn = a - p + 1e-6, a - n + 1e-6
    each = np.maximum(
        np.sqrt(np.einsum("...d,...d->...", dp, dp))
        - np.sqrt(np.einsum("...d,...d->...", dn, dn)) + margin, 0.0
    )
    return {"mean": each.mean(), "sum": each.sum()}.get(reduction, each)
""",
        ),
    ],
    "batch_hard_triplet_loss": [
        Variant(
            "scipy.spatial.distance.cdist, an int 0 when no anchor qualifies",
            """
from scipy.spatial.distance import cdist

def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    x, y = np.asarray(embeddings, dtype=float), np.asarray(labels)
    dist = cdist(x, x)
    same = y[:, None] == y[None, :]
    pos, neg = same & ~np.eye(len(y), dtype=bool), ~same
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0
    hp = np.where(pos, dist, -np.inf).max(1)
    hn = np.where(neg, dist, np.inf).min(1)
    return np.maximum(0.0, hp - hn + margin)[valid].mean()
""",
        ),
        Variant(
            "per-anchor loop with np.linalg.norm",
            """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    x, y = np.asarray(embeddings, dtype=float), np.asarray(labels)
    losses = []
    for i in range(len(y)):
        d = np.linalg.norm(x - x[i], axis=1)
        pos = (y == y[i]) & (np.arange(len(y)) != i)
        neg = y != y[i]
        if pos.any() and neg.any():
            losses.append(max(0.0, d[pos].max() - d[neg].min() + margin))
    return float(np.mean(losses)) if losses else 0.0
""",
        ),
        Variant(
            "Gram matrix after centring the batch, clipped at 0",
            """
def batch_hard_triplet_loss(embeddings, labels, *, margin=1.0):
    x, y = np.asarray(embeddings, dtype=float), np.asarray(labels)
    x = x - x.mean(axis=0)
    sq = (x**2).sum(1)
    dist = np.sqrt(np.maximum(sq[:, None] - 2 * x @ x.T + sq[None, :], 0.0))
    same = y[:, None] == y[None, :]
    pos, neg = same & ~np.eye(len(y), dtype=bool), ~same
    valid = pos.any(1) & neg.any(1)
    if not valid.any():
        return 0.0
    hp = np.where(pos, dist, -np.inf).max(1)
    hn = np.where(neg, dist, np.inf).min(1)
    return np.maximum(0.0, hp - hn + margin)[valid].mean()
""",
        ),
    ],
}
