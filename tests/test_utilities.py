"""lossutils' utilities: device choice, seeding, data makers, the training loop and plotting."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lossutils as lu  # noqa: E402


def test_device_honours_the_environment_variable(monkeypatch):
    monkeypatch.setenv("LOSSUTILS_DEVICE", "cpu")
    assert lu.device() == torch.device("cpu")
    monkeypatch.delenv("LOSSUTILS_DEVICE")
    expected = "cuda" if torch.cuda.is_available() else None
    assert lu.device().type in {expected, "mps", "cpu"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_asking_for_missing_cuda_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LOSSUTILS_DEVICE", "cuda")
    with pytest.raises(ValueError, match="CUDA is not available.*LOSSUTILS_DEVICE"):
        lu.device()


def test_seed_everything_makes_torch_and_numpy_repeat():
    lu.seed_everything(7)
    a = (torch.rand(3), np.random.rand(3))
    lu.seed_everything(7)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_regression_outliers_sit_above_the_line():
    x, y = lu.make_regression_outliers(400, outlier_frac=0.1, seed=3)
    residual = y - (2 * x[:, 0] + 1)
    assert (residual > 5).sum() == 40
    assert x.dtype == np.float32 and y.shape == (400,)


def test_imbalanced_binary_has_the_requested_positive_fraction():
    X, y = lu.make_imbalanced_binary(2000, pos_frac=0.02, n_features=5)
    assert X.shape == (2000, 5) and y.sum() == 40 and set(np.unique(y)) == {0, 1}
    with pytest.raises(ValueError, match="pos_frac"):
        lu.make_imbalanced_binary(pos_frac=1.5)


def test_multilabel_frequencies_fall_from_common_to_rare():
    _, Y = lu.make_multilabel(2000, n_labels=5)
    freq = Y.mean(0)
    assert np.all(np.diff(freq) < 0) and freq[0] == pytest.approx(0.4, abs=0.01)
    assert (Y.sum(1) > 1).any(), "labels must be able to co-occur"


def test_clusters_and_bundled_sets():
    X, labels = lu.make_clusters(4, 25, dim=3)
    assert X.shape == (100, 3) and np.bincount(labels).tolist() == [25] * 4
    s = lu.load_breast_cancer(test_size=0.2)
    assert s.X_train.shape == (455, 30) and abs(s.X_train.mean()) < 1e-5
    d = lu.load_digits()
    assert d.X_test.shape[1] == 64 and d.y_train.dtype == np.int64


def test_train_fits_a_classifier_and_records_history():
    split = lu.load_breast_cancer()
    model = lu.mlp(30, 2, hidden=(16,))
    hist = lu.train(model, torch.nn.functional.cross_entropy, split.X_train, split.y_train,
                    epochs=30, lr=1e-2, batch_size=64, X_val=split.X_test, y_val=split.y_test,
                    progress=False, device="cpu")
    assert len(hist.loss) == len(hist.val_loss) == 30
    assert hist.loss[-1] < 0.5 * hist.loss[0]
    accuracy = (lu.predict(model, split.X_test).argmax(1) == split.y_test).mean()
    assert accuracy > 0.9
    with pytest.raises(ValueError, match="rows"):
        lu.train(model, torch.nn.functional.cross_entropy, split.X_train, split.y_test, epochs=1,
                 progress=False)


def test_plotting_helpers_draw_on_the_given_axes():
    X, y = lu.make_imbalanced_binary(200, pos_frac=0.2)
    fig, axes = plt.subplots(2, 3)
    hist = lu.History(loss=[1.0, 0.5], val_loss=[1.1, 0.6])
    assert lu.plot_loss_history(hist, ax=axes[0, 0]) is axes[0, 0]
    assert len(axes[0, 0].lines) == 2
    lu.plot_curves(np.arange(3), {"a": [0, 1, 4]}, ax=axes[0, 1])
    lu.plot_decision_boundary(lambda g: g[:, 0] - g[:, 1], X, y, ax=axes[0, 2], resolution=30)
    lu.plot_embeddings(np.random.default_rng(0).normal(size=(20, 5)), np.arange(20) % 3, ax=axes[1, 0])
    lu.plot_precision_recall(y, {"x1": X[:, 0]}, ax=axes[1, 1])
    lu.plot_reliability(y, np.clip(X[:, 0] / 4 + 0.5, 0, 1), ax=axes[1, 2])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        lu.plot_decision_boundary(lambda g: g[:, 0], np.zeros((5, 3)), np.zeros(5))
    plt.close(fig)
