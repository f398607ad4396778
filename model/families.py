"""Model families the protocol compares (docs/model.md, "Method"). Every family fits on a training part only:
an inner time split of it (20 s purge) gives out-of-sample predictions for the Platt calibration and the
expected-return shrinkage, then the base model is refitted on the whole training part.

A fitted family is exported as a plain graph (export.py): standardisation (identity for the bounded ratio
features) -> dense layers -> Sigmoid, with the Platt scale and offset folded into the last layer.
"""

import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import protocol

INNER_SHARE = 0.7  # first 70 % of the training part's time span fits the base model for calibration
L2 = 1e-3  # ridge on the logistic weights (per-row mean log-loss + L2/2 * |w|^2)
# Ridge on the Platt offset per row of mean log-loss: a heavily shrunk intercept. Whatever the training
# regime's up share, |b| <= 0.5 / PLATT_B_PENALTY = 0.05 (p moves by at most ~1.2 pp at zero signal).
PLATT_B_PENALTY = 10.0
RETURN_SHRINK = 0.5  # the fitted return slope is halved before use
SEED = 20240809


def _loglik(z, y):
    return np.logaddexp(0.0, z) - y * z


def fit_nonneg_logistic(x, y, l2=L2):
    """Logistic regression without intercept, weights >= 0 (signs fixed by microstructure)."""
    n = max(1, len(y))

    def f(w):
        z = x @ w
        p = 1.0 / (1.0 + np.exp(-z))
        loss = _loglik(z, y).sum() / n + 0.5 * l2 * w @ w
        grad = x.T @ (p - y) / n + l2 * w
        return loss, grad

    w0 = np.zeros(x.shape[1])
    res = minimize(f, w0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * x.shape[1])
    return res.x


def fit_platt(z, y):
    """p = sigmoid(a z + b), a >= 0, b ridge-penalised by PLATT_B_PENALTY (heavily shrunk)."""
    n = max(1, len(y))
    pen = PLATT_B_PENALTY

    def f(ab):
        a, b = ab
        u = a * z + b
        p = 1.0 / (1.0 + np.exp(-u))
        loss = _loglik(u, y).sum() / n + 0.5 * pen * b * b
        g = p - y
        return loss, np.array([np.dot(g, z) / n, g.sum() / n + pen * b])

    res = minimize(f, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)])
    return float(res.x[0]), float(res.x[1])


def inner_split(time_us):
    """Boolean masks (fit, calibrate) of a training part by calendar time, 20 s purge between them.

    The training part can hold datasets years apart; the split is on the rank of time so both sides get
    rows (the last 30 % of the rows in time order)."""
    order = np.argsort(time_us, kind="stable")
    if len(order) < 10:
        return np.ones(len(time_us), bool), np.zeros(len(time_us), bool)
    cut_t = time_us[order[int(len(order) * INNER_SHARE)]]
    return time_us + protocol.PURGE_US <= cut_t, time_us >= cut_t


class Family:
    """Common fit/predict: base model on moved rows, Platt on inner out-of-sample logits, shrunk return."""

    def __init__(self, name, inputs, feature_names):
        self.name, self.inputs = name, list(inputs)
        self.cols = [feature_names.index(n) for n in inputs]

    def fit(self, x, direction, ret, time_us):
        moved = direction != 0
        xs, y = x[:, self.cols], (direction == 1).astype(np.float64)
        fit_m, cal_m = inner_split(time_us)
        a, b = 1.0, 0.0
        if (cal_m & moved).sum() >= 20 and (fit_m & moved).sum() >= 20:
            inner = self.fit_base(xs[fit_m & moved], y[fit_m & moved])
            a, b = fit_platt(self.logit(inner, xs[cal_m & moved]), y[cal_m & moved])
        base = self.fit_base(xs[moved], y[moved])
        fitted = {"base": base, "a": a, "b": b, "k_bps": 0.0}
        # Expected return (bps) = k * (2 p - 1); k by least squares on the calibration part, then shrunk.
        if cal_m.sum() >= 20 and (fit_m & moved).sum() >= 20:
            p_cal = self._p(fitted | {"base": inner}, xs[cal_m])
            s = 2 * p_cal - 1
            r_bps = ret[cal_m] * 1e4
            k = float(np.dot(s, r_bps) / max(np.dot(s, s), 1e-12))
            fitted["k_bps"] = RETURN_SHRINK * k
        return fitted

    def _p(self, fitted, xs):
        u = fitted["a"] * self.logit(fitted["base"], xs) + fitted["b"]
        return 1.0 / (1.0 + np.exp(-u))

    def predict(self, fitted, x):
        p = self._p(fitted, x[:, self.cols])
        return p, fitted["k_bps"] * (2 * p - 1) * 1e-4

    def predict_zero_return(self, fitted, x):
        p = self._p(fitted, x[:, self.cols])
        return p, np.zeros(len(p))


class Logistic(Family):
    """Constrained logistic: no intercept in the base, weights >= 0."""

    kind = "logistic"

    def fit_base(self, xs, y):
        return fit_nonneg_logistic(xs, y)

    def logit(self, w, xs):
        return xs @ w

    def layers(self, fitted):
        """(coefs, intercepts) of the exported classifier with Platt folded in, over the used inputs."""
        w = fitted["a"] * fitted["base"]
        return [w.reshape(-1, 1)], [np.array([fitted["b"]])]


class Mlp(Family):
    """Small MLP (one hidden layer), the same calibration; no sign constraint."""

    kind = "mlp"
    HIDDEN = (8,)

    def fit_base(self, xs, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier(hidden_layer_sizes=self.HIDDEN, alpha=1e-2, batch_size=256, max_iter=30,
                                learning_rate_init=1e-3, random_state=SEED)
            clf.fit(xs, y.astype(int))
        return clf

    def logit(self, clf, xs):
        p = np.clip(clf.predict_proba(xs)[:, 1], 1e-9, 1 - 1e-9)
        return np.log(p / (1 - p))

    def layers(self, fitted):
        clf = fitted["base"]
        coefs = [c.copy() for c in clf.coefs_]
        ints = [c.copy() for c in clf.intercepts_]
        coefs[-1] *= fitted["a"]
        ints[-1] = ints[-1] * fitted["a"] + fitted["b"]
        return coefs, ints


def candidates(feature_names):
    """The candidate list, fixed before the walk-forward ran (docs/model.md)."""
    return {
        "imbalance_logistic": Logistic("imbalance_logistic", ["book_imbalance_1"], feature_names),
        "book_logistic": Logistic("book_logistic", ["book_imbalance_1", "book_imbalance_5", "ofi_10s"],
                                  feature_names),
        "book_logistic_wide": Logistic(
            "book_logistic_wide",
            ["book_imbalance_1", "book_imbalance_5", "book_imbalance_10", "ofi_1s", "ofi_5s", "ofi_10s"],
            feature_names),
        "book_mlp": Mlp("book_mlp", ["book_imbalance_1", "book_imbalance_5", "ofi_10s"], feature_names),
    }
