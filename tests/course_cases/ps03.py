"""Known-wrong answers to ps03_multilabel and the parts each must lose."""

from tests.course_cases import Variant

_SHAPE_CHECK = """
    if logits.shape != target.shape:
        raise ValueError("shapes differ")
"""

_BCE_FRAGILE = (
    """
def multilabel_bce(logits, target, *, pos_weight=None, reduction="mean"):
"""
    + _SHAPE_CHECK
    + """
    p = 1.0 / (1.0 + np.exp(-logits))
    w = 1.0 if pos_weight is None else pos_weight
    loss = -(w * target * np.log(p) + (1 - target) * np.log(1 - p))
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)
"""
)


def _bce(loss_line: str, reduce_line: str, shape_check: str = _SHAPE_CHECK) -> str:
    return f"""
def multilabel_bce(logits, target, *, pos_weight=None, reduction="mean"):
{shape_check}
    sp = np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    w = 1.0 if pos_weight is None else pos_weight
{loss_line}
{reduce_line}
"""


_RIGHT_LOSS = "    loss = w * target * sp + (1 - target) * (logits + sp)"
_RIGHT_REDUCE = '    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)'

_BCE_MEAN_OVER_SAMPLES = _bce(
    _RIGHT_LOSS,
    '    return {"mean": loss.sum(axis=1).mean(), "sum": loss.sum()}.get(reduction, loss)',
)
_BCE_POS_WEIGHT_ON_NEGATIVES = _bce(
    "    loss = target * sp + w * (1 - target) * (logits + sp)", _RIGHT_REDUCE
)
_BCE_NO_SHAPE_CHECK = _bce(_RIGHT_LOSS, _RIGHT_REDUCE, shape_check="")

_F1_NAN = """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    if average not in ("micro", "macro"):
        raise ValueError(average)
    tp = (y_true * y_pred).sum(axis=0)
    fp = ((1 - y_true) * y_pred).sum(axis=0)
    fn = (y_true * (1 - y_pred)).sum(axis=0)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    return np.mean(2 * tp / (2 * tp + fp + fn))
"""

_F1_ALWAYS_MICRO = """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    tp = (y_true * y_pred).sum()
    denom = 2 * tp + ((1 - y_true) * y_pred).sum() + (y_true * (1 - y_pred)).sum()
    return 2 * tp / denom if denom else 0.0
"""

_F1_ACCURACY = """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    if average not in ("micro", "macro"):
        raise ValueError(average)
    if average == "micro":
        return np.mean(y_true == y_pred)
    return np.mean(np.mean(y_true == y_pred, axis=0))
"""


def _thresholds(choose: str, compare: str = ">=") -> str:
    return f"""
def best_thresholds(probs, y_true, *, grid=None):
    grid = np.arange(0.05, 0.96, 0.05) if grid is None else np.sort(grid)

    def f1(pred, y):
        denom = pred.sum() + y.sum()
        return 2 * np.sum(pred * y) / denom if denom else 0.0

    scores = np.array([[f1(probs[:, k] {compare} t, y_true[:, k]) for k in range(y_true.shape[1])]
                       for t in grid])
{choose}
"""


_PER_LABEL = "    return grid[scores.argmax(axis=0)]"
_THRESH_STRICT = _thresholds(_PER_LABEL, compare=">")
_THRESH_GLOBAL = _thresholds(
    "    return np.full(y_true.shape[1], grid[scores.mean(axis=1).argmax()])"
)
_THRESH_DEFAULT_GRID_ONLY = _thresholds(_PER_LABEL).replace(
    "if grid is None else np.sort(grid)", ""
)

CASES: dict[str, list[Variant]] = {
    "multilabel_bce": [
        Variant(
            "naive log(sigmoid)",
            _BCE_FRAGILE,
            fails=frozenset({"stability"}),
            says=("never log of a rounded probability",),
        ),
        Variant(
            "mean over samples only",
            _BCE_MEAN_OVER_SAMPLES,
            fails=frozenset({"basic", "params", "stability"}),
            says=("you summed over the labels and averaged over the samples",),
        ),
        Variant(
            "pos_weight on the negatives",
            _BCE_POS_WEIGHT_ON_NEGATIVES,
            fails=frozenset({"params"}),
            says=("not the negatives",),
        ),
        Variant(
            "broadcasts mismatched shapes",
            _BCE_NO_SHAPE_CHECK,
            fails=frozenset({"edge"}),
            says=("no ValueError was raised",),
        ),
    ],
    "multilabel_f1": [
        Variant("0/0 gives nan", _F1_NAN, fails=frozenset({"edge"}), says=("count its F1 as 0",)),
        Variant(
            "ignores average",
            _F1_ALWAYS_MICRO,
            fails=frozenset({"params", "edge"}),
            says=("this is the micro average",),
        ),
        Variant(
            "accuracy instead of F1",
            _F1_ACCURACY,
            fails=frozenset({"basic", "params", "edge"}),
            says=("this is the accuracy",),
        ),
    ],
    "best_thresholds": [
        Variant(
            "> instead of >=", _THRESH_STRICT, fails=frozenset({"edge"}), says=("(you used >)",)
        ),
        Variant(
            "one threshold for all labels",
            _THRESH_GLOBAL,
            fails=frozenset({"basic", "params", "edge"}),
            says=("you used one threshold for every label",),
        ),
        Variant(
            "ignores the grid argument",
            _THRESH_DEFAULT_GRID_ONLY,
            fails=frozenset({"params", "edge"}),
            says=("is not one of the grid values",),
        ),
    ],
}

# more wrong answers, each with the message that names it
CASES["multilabel_bce"].append(
    Variant(
        "ignores reduction",
        _bce(_RIGHT_LOSS, "    return loss.mean()"),
        fails=frozenset({"edge"}),
        says=("you returned the mean; reduction='sum'",),
    )
)
CASES["multilabel_f1"].append(
    Variant(
        "calls scikit-learn (forbidden)",
        """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    from sklearn.metrics import f1_score

    if average not in ("micro", "macro"):
        raise ValueError("average must be 'micro' or 'macro'")
    return f1_score(y_true, y_pred, average=average, zero_division=0)
""",
        fails=frozenset({"basic", "params", "edge"}),
        says=("sklearn", "this exercise forbids lossutils, torch and sklearn"),
    )
)
CASES["best_thresholds"].append(
    Variant(
        "sorts the caller's grid in place",
        """
def best_thresholds(probs, y_true, *, grid=None):
    grid = np.round(np.linspace(0.05, 0.95, 19), 2) if grid is None else np.asarray(grid, float)
    grid.sort()  # np.asarray does not copy a float64 array: this sorts the caller's grid
    p, y = np.asarray(probs, float), np.asarray(y_true).astype(bool)
    out = []
    for k in range(y.shape[1]):
        best, best_t = -1.0, None
        for t in grid:
            pred = p[:, k] >= t
            denom = pred.sum() + y[:, k].sum()
            f1 = 2 * (pred & y[:, k]).sum() / denom if denom else 0.0
            if f1 >= best:
                best, best_t = f1, t
        out.append(best_t)
    return np.array(out)
""",
        fails=frozenset({"basic", "params"}),
        says=("changed its input `grid` in place", "np.sort(x)"),
    )
)

# right answers written differently (from the review of the assignments); each scores full marks
CORRECT: dict[str, list[Variant]] = {
    "multilabel_bce": [
        Variant(
            "np.logaddexp with pos_weight[None, :], a Python float",
            """
def multilabel_bce(logits, target, *, pos_weight=None, reduction="mean"):
    x, y = np.asarray(logits, dtype=float), np.asarray(target, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"logits {x.shape} and target {y.shape} differ")
    w = np.ones(x.shape[1]) if pos_weight is None else np.asarray(pos_weight, dtype=float)
    each = w[None, :] * y * np.logaddexp(0.0, -x) + (1 - y) * np.logaddexp(0.0, x)
    if reduction == "none":
        return each
    return float(each.sum() if reduction == "sum" else each.mean())
""",
        ),
    ],
    "multilabel_f1": [
        Variant(
            "integer counts, a Python 0.0 for 0/0",
            """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    t, p = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if average not in ("micro", "macro"):
        raise ValueError(f"unknown average {average!r}")
    tp, fp, fn = (t * p).sum(0), ((1 - t) * p).sum(0), (t * (1 - p)).sum(0)
    if average == "micro":
        d = 2 * tp.sum() + fp.sum() + fn.sum()
        return 2 * tp.sum() / d if d else 0.0
    return float(np.mean([2 * a / (2 * a + b + c) if 2 * a + b + c else 0.0
                          for a, b, c in zip(tp, fp, fn)]))
""",
        ),
        Variant(
            "harmonic mean of precision and recall",
            """
def multilabel_f1(y_true, y_pred, *, average="micro"):
    t, p = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    if average == "micro":
        t, p = t.reshape(-1, 1), p.reshape(-1, 1)
    elif average != "macro":
        raise ValueError(f"unknown average {average!r}")
    scores = []
    for k in range(t.shape[1]):
        tp = np.sum(t[:, k] & p[:, k])
        prec = tp / p[:, k].sum() if p[:, k].sum() else 0.0
        rec = tp / t[:, k].sum() if t[:, k].sum() else 0.0
        scores.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(scores))
""",
        ),
    ],
    "best_thresholds": [
        Variant(
            "ties to the largest threshold, sorting a copy of the grid",
            """
def best_thresholds(probs, y_true, *, grid=None):
    grid = np.round(np.linspace(0.05, 0.95, 19), 2) if grid is None else np.sort(grid)
    p, y = np.asarray(probs, float), np.asarray(y_true).astype(bool)
    out = []
    for k in range(y.shape[1]):
        best, best_t = -1.0, None
        for t in grid:
            pred = p[:, k] >= t
            denom = pred.sum() + y[:, k].sum()
            f1 = 2 * (pred & y[:, k]).sum() / denom if denom else 0.0
            if f1 >= best:
                best, best_t = f1, t
        out.append(best_t)
    return np.array(out)
""",
        ),
        Variant(
            "(N, L, G) broadcast with np.arange(0.05, 1.0, 0.05) as the default grid",
            """
def best_thresholds(probs, y_true, *, grid=None):
    grid = np.arange(0.05, 1.0, 0.05) if grid is None else np.asarray(grid, float)
    p, y = np.asarray(probs, float), np.asarray(y_true).astype(bool)
    pred = p[:, :, None] >= grid[None, None, :]
    tp = (pred & y[:, :, None]).sum(0)
    denom = pred.sum(0) + y.sum(0)[:, None]
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return grid[f1.argmax(axis=1)]
""",
        ),
        Variant(
            "thresholds from a Python list of grid values",
            """
def best_thresholds(probs, y_true, *, grid=None):
    values = [round(0.05 * i, 2) for i in range(1, 20)] if grid is None else list(grid)
    p, y = np.asarray(probs, float), np.asarray(y_true).astype(bool)
    chosen = []
    for k in range(y.shape[1]):
        def f1(t, k=k):
            pred = p[:, k] >= t
            d = pred.sum() + y[:, k].sum()
            return 2 * (pred & y[:, k]).sum() / d if d else 0.0
        chosen.append(max(values, key=f1))
    return np.array(chosen)
""",
        ),
    ],
}
