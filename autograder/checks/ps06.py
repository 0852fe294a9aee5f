"""Checks for ps06_triplet: ``triplet_margin_loss`` and ``batch_hard_triplet_loss``.

Every sub-check draws fresh embeddings from ``rng``, runs the student's function through
:func:`call` and compares it with the ``lossutils`` reference in float64.
"""

from __future__ import annotations

import numpy as np

import lossutils
from autograder.core import Fail, call, expect_close, forbid, subcheck

TRIPLET = "ps06.triplet_margin_loss"
HARD = "ps06.batch_hard_triplet_loss"
EPS = 1e-6

# the notebook's rule: these are written from scratch (see core.watch_calls)
forbid("ps06", "lossutils", "torch", "sklearn")

# Without torch's eps a distance moves by at most sqrt(D) * 1e-6, so the general checks allow
# that much; one edge check pins eps down with tight tolerances.
RTOL, ATOL = 1e-5, 2e-5

_REDUCE = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}


def _dist(a, b, eps=EPS):
    return np.sqrt(np.sum((a - b + eps) ** 2, axis=-1))


def _triplets(rng, n=None, d=None):
    """Anchors, positives and negatives with a mix of active and satisfied triplets."""
    n = int(rng.integers(6, 25)) if n is None else n
    d = int(rng.integers(3, 9)) if d is None else d
    anchor = rng.standard_normal((n, d))
    positive = anchor + 0.5 * rng.standard_normal((n, d))
    negative = anchor + rng.uniform(0.3, 1.5, size=(n, 1)) * rng.standard_normal((n, d))
    # always one satisfied triplet (negative 8 away) and one violated (negative very close)
    negative[0] = anchor[0] + 8.0 / np.sqrt(d)
    negative[1] = anchor[1] + 0.05 * rng.standard_normal(d)
    order = rng.permutation(n)
    return anchor[order], positive[order], negative[order]


# ------------------------------------------------------------------------ triplet_margin_loss


def _triplet_hints(a, p, n, margin, reduction) -> dict[str, np.ndarray]:
    red = _REDUCE[reduction]
    d_ap, d_an = _dist(a, p), _dist(a, n)
    hints = {
        "you used squared distances; the triplet loss uses the Euclidean distance "
        "||a - p|| (take the square root of the sum of squares)": red(
            np.maximum(d_ap**2 - d_an**2 + margin, 0.0)
        ),
        "you left out the max(0, .): a triplet whose negative is already further than "
        "positive + margin must contribute 0, not a negative loss": red(d_ap - d_an + margin),
        "positive and negative are swapped: the loss is max(0, d(a, p) - d(a, n) + margin)": red(
            np.maximum(d_an - d_ap + margin, 0.0)
        ),
        "you used the L1 distance (sum of absolute differences); use the Euclidean one": red(
            np.maximum(
                np.abs(a - p + EPS).sum(-1) - np.abs(a - n + EPS).sum(-1) + margin,
                0.0,
            )
        ),
    }
    hints[
        "eps is added to every component of the difference, ||a - p + eps||, not under the "
        "square root as sqrt(sum of squares + eps)"
    ] = red(
        np.maximum(
            np.sqrt(np.sum((a - p) ** 2, axis=-1) + EPS)
            - np.sqrt(np.sum((a - n) ** 2, axis=-1) + EPS)
            + margin,
            0.0,
        )
    )
    if a.ndim == 2:
        hints[
            "you took the distance over the wrong axis: each row of a (N, D) batch is one "
            "embedding, so sum the squared differences over axis=-1"
        ] = red(np.maximum(_dist(a.T, p.T) - _dist(a.T, n.T) + margin, 0.0))
    each = np.maximum(d_ap - d_an + margin, 0.0)
    if reduction == "mean":
        hints["you returned the sum; reduction='mean' divides by the number of triplets"] = (
            each.sum()
        )
    if reduction == "sum":
        hints["you returned the mean; reduction='sum' adds the per-triplet losses"] = each.mean()
    if margin != 1.0:
        hints["your result is the loss for margin = 1: use the `margin` argument"] = red(
            np.maximum(d_ap - d_an + 1.0, 0.0)
        )
    return hints


def _triplet_compare(fn, a, p, n, what, **opts):
    margin, reduction = opts.get("margin", 1.0), opts.get("reduction", "mean")
    want = lossutils.triplet_margin_loss(a, p, n, **opts)
    got = call(fn, a, p, n, **opts)
    hints = _triplet_hints(a, p, n, margin, reduction)
    expect_close(got, want, what, rtol=RTOL, atol=ATOL, hints=hints)


@subcheck(TRIPLET, "basic")
def _triplet_basic(fn, rng):
    """matches lossutils.triplet_margin_loss on random (N, D) embeddings (reduction='mean')"""
    for _ in range(2):
        a, p, n = _triplets(rng)
        _triplet_compare(fn, a, p, n, f"embeddings of shape {a.shape}")


@subcheck(TRIPLET, "edge")
def _triplet_edge(fn, rng):
    """handles reduction='sum'/'none', one triplet and 1-D embeddings of shape (D,)"""
    a, p, n = _triplets(rng)
    _triplet_compare(fn, a, p, n, "reduction='sum'", reduction="sum")
    _triplet_compare(fn, a, p, n, "reduction='none'", reduction="none")
    _triplet_compare(fn, a[:1], p[:1], n[:1], "one triplet of shape (1, D)")
    _triplet_compare(fn, a[0], p[0], n[0], "1-D embeddings of shape (D,)")


@subcheck(TRIPLET, "edge")
def _triplet_eps(fn, rng):
    """adds eps = 1e-6 to the difference as torch does (checked with anchor == positive)"""
    n, d = 5, 16
    a = rng.standard_normal((n, d))
    neg = a.copy()
    neg[:, 0] -= 0.5
    want = lossutils.triplet_margin_loss(a, a, neg, reduction="none")
    got = call(fn, a, a.copy(), neg, reduction="none")
    no_eps = np.maximum(np.sqrt(((a - neg) ** 2).sum(-1)) * -1.0 + 1.0, 0.0)
    under_root = np.maximum(np.sqrt(EPS) - np.sqrt(((a - neg) ** 2).sum(-1) + EPS) + 1.0, 0.0)
    hints = {
        "you left out eps: as in torch, d(x, y) = ||x - y + eps|| with eps = 1e-6 added to "
        "every component of the difference (so d(a, a) = 1e-6 * sqrt(D), not 0)": no_eps,
        "eps is added to every component of the difference, ||a - p + eps||, not under the "
        "square root as sqrt(sum of squares + eps)": under_root,
    }
    expect_close(got, want, "anchor equal to positive", rtol=1e-7, atol=1e-10, hints=hints)


@subcheck(TRIPLET, "params")
def _triplet_params(fn, rng):
    """uses margin: matches lossutils.triplet_margin_loss for margin = 0.2 and 3"""
    for margin in (0.2, 3.0):
        a, p, n = _triplets(rng)
        _triplet_compare(fn, a, p, n, f"margin={margin}", margin=margin)


# -------------------------------------------------------------------- batch_hard_triplet_loss


def _batch(rng, n_classes=None, sizes=(3, 6), dim=None, spread=1.2):
    """Clustered, overlapping embeddings: every class has sizes[0] to sizes[1] - 1 members."""
    n_classes = int(rng.integers(3, 6)) if n_classes is None else n_classes
    dim = int(rng.integers(2, 6)) if dim is None else dim
    counts = rng.integers(sizes[0], sizes[1], size=n_classes)
    labels = rng.permutation(np.repeat(np.arange(n_classes), counts))
    centres = 1.5 * rng.standard_normal((n_classes, dim))
    x = centres[labels] + spread * rng.standard_normal((len(labels), dim))
    return x, labels


def _masks(labels):
    same = labels[:, None] == labels[None, :]
    pos = same & ~np.eye(len(labels), dtype=bool)
    return same, pos, ~same


def _mined(x, labels, margin, *, pos_pick, neg_pick, dist=None, self_pos=False, clamp=True):
    """Per-anchor losses for a mining rule, and which anchors count (helper for the hints)."""
    if dist is None:
        dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    same, pos, neg = _masks(labels)
    if self_pos:
        pos = same
    has = pos.any(1) & neg.any(1)
    dp = np.array([pos_pick(dist[i][pos[i]]) if has[i] else 0.0 for i in range(len(x))])
    dn = np.array([neg_pick(dist[i][neg[i]]) if has[i] else 0.0 for i in range(len(x))])
    gap = dp - dn + margin
    return np.where(has, np.maximum(gap, 0.0) if clamp else gap, 0.0), has


def _hard_hints(x, labels, margin) -> dict[str, np.ndarray]:
    def mean_over(values, has):
        return values.sum() / max(int(has.sum()), 1)

    hard, has = _mined(x, labels, margin, pos_pick=np.max, neg_pick=np.min)
    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    same, pos, neg = _masks(labels)
    batch_all = np.maximum(sq[:, :, None] ** 0.5 - sq[:, None, :] ** 0.5 + margin, 0.0)
    triples = pos[:, :, None] & neg[:, None, :]
    hints = {
        "you took the easiest positive (the closest one); batch-hard uses the hardest "
        "positive, the same-label sample FARTHEST from the anchor": mean_over(
            *_mined(x, labels, margin, pos_pick=np.min, neg_pick=np.min)
        ),
        "you took the easiest negative (the farthest one); batch-hard uses the hardest "
        "negative, the other-label sample CLOSEST to the anchor": mean_over(
            *_mined(x, labels, margin, pos_pick=np.max, neg_pick=np.max)
        ),
        "you used squared distances; batch-hard uses Euclidean distances (square roots)": (
            mean_over(*_mined(x, labels, margin, pos_pick=np.max, neg_pick=np.min, dist=sq))
        ),
        "you averaged over all (anchor, positive, negative) triplets (batch-all); batch-hard "
        "keeps one triplet per anchor: hardest positive and hardest negative": (
            batch_all[triples].mean() if triples.any() else 0.0
        ),
        "your hardest negative is 0 for every anchor (the min of a matrix whose non-negatives "
        "were filled with 0): fill them with +inf before taking the min, e.g. "
        "np.where(negative, D, np.inf).min(axis=1)": mean_over(
            *_mined(x, labels, margin, pos_pick=np.max, neg_pick=lambda d: 0.0)
        ),
        "you left out the max(0, .) around d_pos - d_neg + margin: an anchor whose hardest "
        "negative is already margin further than its hardest positive contributes 0": mean_over(
            *_mined(x, labels, margin, pos_pick=np.max, neg_pick=np.min, clamp=False)
        ),
    }
    if not has.all():
        hints[
            "an anchor whose label appears only once has no positive and must be left out; you "
            "let it use itself (distance 0) as its positive"
        ] = mean_over(*_mined(x, labels, margin, pos_pick=np.max, neg_pick=np.min, self_pos=True))
        hints[
            "you divided by N; average over the anchors that have both a positive and a negative"
        ] = hard.sum() / len(x)
    if margin != 1.0:
        hints["your result is the loss for margin = 1: use the `margin` argument"] = mean_over(
            *_mined(x, labels, 1.0, pos_pick=np.max, neg_pick=np.min)
        )
    return hints


def _hard_compare(fn, x, labels, what, *, rtol=1e-6, nonfinite=None, **opts):
    margin = opts.get("margin", 1.0)
    want = lossutils.batch_hard_triplet_loss(x, labels, **opts)
    got = call(fn, x, labels, **opts)
    hints = _hard_hints(x, labels, margin)
    expect_close(got, want, what, rtol=rtol, atol=1e-9, hints=hints, nonfinite=nonfinite)


@subcheck(HARD, "basic")
def _hard_basic(fn, rng):
    """matches lossutils.batch_hard_triplet_loss on clustered embeddings (every label twice or more)"""
    for _ in range(2):
        x, labels = _batch(rng)
        _hard_compare(fn, x, labels, f"{len(x)} embeddings in {labels.max() + 1} classes")


@subcheck(HARD, "edge")
def _hard_singletons(fn, rng):
    """leaves out anchors without a positive (a label seen once) and averages over the rest"""
    x, labels = _batch(rng, spread=1.5)
    k = labels.max() + 1
    # each singleton sits within the margin (0.2 to 0.6 away) of some other example: with itself
    # as its positive it would add a loss, so that mistake and "divided by N" differ
    near = x[rng.choice(len(x), 2, replace=False)]
    step = rng.standard_normal((2, x.shape[1]))
    step *= rng.uniform(0.2, 0.6, (2, 1)) / np.linalg.norm(step, axis=1, keepdims=True)
    extra = near + step
    xs = np.concatenate([x, extra])
    ls = np.concatenate([labels, [k, k + 1]])
    order = rng.permutation(len(ls))
    _hard_compare(fn, xs[order], ls[order], "a batch where two labels appear only once")


@subcheck(HARD, "edge")
def _hard_degenerate(fn, rng):
    """returns 0 (not nan) when no anchor has both a positive and a negative"""
    x = rng.standard_normal((6, 3))
    for labels, what in (
        (np.zeros(6, dtype=np.int64), "a batch with a single label (no negatives)"),
        (np.arange(6), "a batch where every label is different (no positives)"),
    ):
        got = call(fn, x, labels)
        expect_close(
            got,
            0.0,
            what,
            hints=_hard_hints(x, labels, 1.0),
            nonfinite="no anchor has both a positive and a negative, so there is nothing to "
            "average: return 0 instead of dividing by zero or taking max/min of an empty set",
        )


@subcheck(HARD, "stability")
def _hard_duplicates(fn, rng):
    """is exact with duplicate embeddings (distance 0) and embeddings near 1e7"""
    x, labels = _batch(rng, spread=1.5)  # overlapping clusters: most anchors are active
    dup = rng.choice(len(x), size=4, replace=False)
    x = np.concatenate([x, x[dup]])
    labels = np.concatenate([labels, labels[dup]])
    message = (
        "nan: a squared distance computed as |a|^2 - 2 a.b + |b|^2 can come out slightly "
        "negative (here for duplicate embeddings, whose true distance is 0) and its square root "
        "is nan; compute the differences x_i - x_j directly, or clip at 0"
    )
    _hard_compare(fn, x, labels, "duplicate embeddings", nonfinite=message)
    far = x + rng.uniform(-1.0, 1.0, size=x.shape[1]) * 1e7
    try:
        _hard_compare(fn, far, labels, "embeddings near 1e7", nonfinite=message)
    except Fail as exc:
        raise Fail(
            f"{exc}; |a|^2 - 2 a.b + |b|^2 subtracts numbers near 1e14 to get a squared distance "
            "near 1 and loses most digits: compute the differences x_i - x_j directly"
        ) from None


@subcheck(HARD, "params")
def _hard_params(fn, rng):
    """uses margin: matches lossutils.batch_hard_triplet_loss for margin = 0.3 and 4"""
    for margin in (0.3, 4.0):
        x, labels = _batch(rng)
        _hard_compare(fn, x, labels, f"margin={margin}", margin=margin)
