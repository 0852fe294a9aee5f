"""Bad input raises ValueError with a message that names the problem and the fix."""

import numpy as np
import pytest
import torch

import lossutils as L

Z = np.zeros


ELEMENTWISE = [L.mse, L.mae, L.huber, L.log_cosh, L.msle, L.quantile, L.asymmetric_mae,
               L.binary_cross_entropy, L.binary_cross_entropy_with_logits, L.sigmoid_focal_loss]


@pytest.mark.parametrize("fn", ELEMENTWISE)
@pytest.mark.parametrize("kind", [np.full, torch.full])
def test_column_prediction_against_flat_target_is_refused(fn, kind):
    with pytest.raises(ValueError, match=r"\(8, 1\).*\(8,\).*squeeze"):
        fn(kind((8, 1), 0.5), kind((8,), 0.5))


@pytest.mark.parametrize("fn", ELEMENTWISE)
def test_tensors_that_need_nothing_still_get_checked_and_converted(fn):
    """Tensors of one dtype, device and shape skip the conversions; the rest still convert."""
    pred = torch.full((8,), 0.5, requires_grad=True)
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn(pred, torch.full((8,), 0.5), reduction="avg")
    out = fn(pred, torch.full((8,), 0.5, dtype=torch.float64))
    assert out.dtype == torch.float32  # the target takes the prediction's dtype
    torch.testing.assert_close(out, fn(pred, torch.full((8,), 0.5)))
    out.backward()
    assert pred.grad is not None


def test_mismatched_shapes_quote_both_and_work_for_tensors():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        L.mse(torch.zeros(3, 2), torch.zeros(2, 3))


@pytest.mark.parametrize("fn", [L.mse, L.huber, L.binary_cross_entropy_with_logits])
def test_bad_reduction(fn):
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum' or 'none'.*'avg'"):
        fn(Z(3), Z(3), reduction="avg")


def test_bad_reduction_for_class_losses():
    with pytest.raises(ValueError, match="reduction"):
        L.cross_entropy(Z((2, 3)), np.array([0, 1]), reduction="batchmean")


def test_probabilities_that_look_like_logits():
    with pytest.raises(ValueError, match="logits.*binary_cross_entropy_with_logits"):
        L.binary_cross_entropy(np.array([2.5, -1.0]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("bad", [5, -1])
def test_class_index_out_of_range(bad):
    with pytest.raises(ValueError, match=rf"class index {bad} .*4 classes"):
        L.cross_entropy(Z((3, 4)), np.array([0, bad, 1]))
    with pytest.raises(ValueError, match=rf"class index {bad}"):
        L.multiclass_hinge(torch.zeros(3, 4), torch.tensor([0, bad, 1]))
    with pytest.raises(ValueError, match=rf"class index {bad}"):
        L.softmax_focal_loss(Z((3, 4)), np.array([0, bad, 1]))


def test_float_class_indices_are_refused():
    with pytest.raises(ValueError, match="integer"):
        L.cross_entropy(Z((2, 3)), np.array([0.0, 2.0]))


def test_cross_entropy_target_of_wrong_shape():
    with pytest.raises(ValueError, match=r"\(2, 3\).*class indices of shape \(4,\)"):
        L.cross_entropy(Z((4, 3)), np.zeros((2, 3)))


@pytest.mark.parametrize("fn", [L.hinge, L.squared_hinge])
def test_hinge_labels_in_zero_one(fn):
    with pytest.raises(ValueError, match=r"2 \* y - 1"):
        fn(Z(4), np.array([0.0, 1.0, 1.0, 0.0]))


def test_msle_refuses_values_at_or_below_minus_one():
    with pytest.raises(ValueError, match="> -1"):
        L.msle(np.array([-1.0, 2.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="target"):
        L.msle(np.array([0.0]), np.array([-3.0]))


@pytest.mark.parametrize("fn", [L.mse, L.mae, L.huber, L.binary_cross_entropy_with_logits,
                                L.binary_cross_entropy])
def test_nan_in_inputs_is_named(fn):
    pred = np.array([0.5, np.nan, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        fn(pred, np.array([1.0, 0.0, 1.0]))


def test_nan_in_logits_for_cross_entropy():
    with pytest.raises(ValueError, match="NaN"):
        L.cross_entropy(np.array([[0.0, np.nan]]), np.array([0]))


def test_bad_options():
    with pytest.raises(ValueError, match="q must lie strictly between 0 and 1"):
        L.quantile(Z(2), Z(2), q=1.5)
    with pytest.raises(ValueError, match="delta must be positive"):
        L.huber(Z(2), Z(2), delta=0.0)
    with pytest.raises(ValueError, match="gamma"):
        L.sigmoid_focal_loss(Z(2), Z(2), gamma=-1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(Z((2, 3)), np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight.*\(3,\)"):
        L.cross_entropy(Z((2, 3)), np.array([0, 1]), weight=np.ones(4))


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        L.huber(Z(2), Z(2), 2.0)
