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
            "squared distances", _TRIPLET_SQUARED, fails=frozenset({"basic", "edge", "params"})
        ),
        Variant("no max(0, .)", _TRIPLET_NO_CLAMP, fails=frozenset({"basic", "edge", "params"})),
        Variant("no eps", _TRIPLET_NO_EPS, fails=frozenset({"edge"})),
        Variant("margin fixed at 1", _TRIPLET_MARGIN_ONE, fails=frozenset({"params"})),
    ],
    "batch_hard_triplet_loss": [
        Variant("Gram-matrix distances", _HARD_GRAM, fails=frozenset({"stability"})),
        Variant(
            "easiest positive",
            _HARD_EASIEST_POSITIVE,
            fails=frozenset({"basic", "edge", "stability", "params"}),
        ),
        Variant("anchor as its own positive", _HARD_SELF_POSITIVE, fails=frozenset({"edge"})),
        Variant("mean over all N anchors", _HARD_MEAN_OVER_N, fails=frozenset({"edge"})),
        Variant("margin fixed at 1", _HARD_MARGIN_ONE, fails=frozenset({"params"})),
    ],
}
