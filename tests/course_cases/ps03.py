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
        Variant("naive log(sigmoid)", _BCE_FRAGILE, fails=frozenset({"stability"})),
        Variant(
            "mean over samples only",
            _BCE_MEAN_OVER_SAMPLES,
            fails=frozenset({"basic", "params", "stability"}),
        ),
        Variant(
            "pos_weight on the negatives", _BCE_POS_WEIGHT_ON_NEGATIVES, fails=frozenset({"params"})
        ),
        Variant("broadcasts mismatched shapes", _BCE_NO_SHAPE_CHECK, fails=frozenset({"edge"})),
    ],
    "multilabel_f1": [
        Variant("0/0 gives nan", _F1_NAN, fails=frozenset({"edge"})),
        Variant("ignores average", _F1_ALWAYS_MICRO, fails=frozenset({"params", "edge"})),
        Variant(
            "accuracy instead of F1", _F1_ACCURACY, fails=frozenset({"basic", "params", "edge"})
        ),
    ],
    "best_thresholds": [
        Variant("> instead of >=", _THRESH_STRICT, fails=frozenset({"edge"})),
        Variant(
            "one threshold for all labels",
            _THRESH_GLOBAL,
            fails=frozenset({"basic", "params", "edge"}),
        ),
        Variant(
            "ignores the grid argument",
            _THRESH_DEFAULT_GRID_ONLY,
            fails=frozenset({"params", "edge"}),
        ),
    ],
}
