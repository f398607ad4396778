"""Unit tests of the protocol and the model families: `.local/venv/bin/python -m unittest discover model`."""

import unittest

import numpy as np

import families
import protocol

S = protocol.S


class FakeTable:
    """The parts of common.Table the protocol uses."""

    def __init__(self, time_us, x, direction, ret=None):
        self.time_us, self.x, self.direction = np.asarray(time_us), np.asarray(x, float), np.asarray(direction)
        self.ret = np.zeros(len(self.time_us)) if ret is None else ret
        self.mid = np.full(len(self.time_us), 100.0)
        self.future_mid = self.mid * (1 + self.ret)

    def __len__(self):
        return len(self.time_us)

    def subset(self, m):
        t = FakeTable(self.time_us[m], self.x[m], self.direction[m], self.ret[m])
        return t


class ProtocolTest(unittest.TestCase):
    def test_training_rows_end_a_full_purge_before_the_test_block_and_skip_other_diagnostic_sets(self):
        t = np.arange(0, 600 * S, S // 4)
        a = protocol.Dataset("a", FakeTable(t, np.zeros((len(t), 1)), np.ones(len(t), int)))
        diag = protocol.Dataset("d", FakeTable(t, np.zeros((len(t), 1)), np.ones(len(t), int)), pooled=False)
        for start, _ in protocol.folds(a):
            parts = protocol.training_rows([a, diag], start, own=a)
            self.assertEqual(len(parts), 1)
            self.assertLessEqual(parts[0].time_us.max() + protocol.PURGE_US, start)
        first, last = protocol.folds(a)[0], protocol.folds(a)[-1]
        self.assertEqual(first[0], int((t.max() - t.min()) * 0.25))  # 25 % of the span (>= 120 s)
        self.assertEqual(last[1], t.max() + 1)

    def test_auc_equals_the_pairwise_definition_with_ties(self):
        rng = np.random.default_rng(0)
        p = rng.integers(0, 5, 200) / 4.0
        y = (rng.random(200) < 0.3 + 0.3 * p).astype(float)
        pos, neg = p[y == 1], p[y == 0]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        self.assertAlmostEqual(protocol.auc(p, y), pairs / (len(pos) * len(neg)), places=12)

    def test_a_rule_keeps_its_own_direction_even_when_its_training_hit_rate_is_below_half(self):
        names = ["book_imbalance_1"]
        x = np.array([[0.5], [-0.5], [0.0]])
        p, up = protocol.predict_rule(x, names, "imbalance_rule", (0.4, 0.3))
        np.testing.assert_allclose(p, [0.4, 0.6, 0.3])
        np.testing.assert_array_equal(up, [True, False, False])

    def test_block_bootstrap_is_seeded_and_brackets_the_point_estimate(self):
        rng = np.random.default_rng(1)
        n = 500
        t = np.arange(n) * 2 * S
        d = np.where(rng.random(n) < 0.6, 1, -1)
        p = np.clip(0.5 + 0.2 * d * (rng.random(n) < 0.7) - 0.1 * d * (rng.random(n) < 0.3), 0.01, 0.99)
        o = protocol.Oos(t, np.zeros(n, int), d, np.full(n, 100.0), np.full(n, 100.0), {"m": p, "majority": np.full(n, 0.6)},
                         {"m": np.zeros(n)}, {"m": p >= 0.5, "majority": np.ones(n, bool)})
        a, b = o.figures("m", ["majority"]), o.figures("m", ["majority"])
        self.assertEqual(a["accuracy_moved_ci95"], b["accuracy_moved_ci95"])
        self.assertLess(a["ci95_low"], a["accuracy_moved"])
        self.assertGreater(a["ci95_high"], a["accuracy_moved"])
        self.assertEqual(a["n_independent"], n // 5)


class FamiliesTest(unittest.TestCase):
    def test_the_constrained_logistic_never_takes_the_sign_the_data_prefers_against_microstructure(self):
        rng = np.random.default_rng(2)
        x = rng.normal(size=(2000, 2))
        y = (rng.random(2000) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 1.0 * x[:, 1])))).astype(float)
        w = families.fit_nonneg_logistic(x, y)
        self.assertGreater(w[0], 1.0)
        self.assertEqual(w[1], 0.0)

    def test_platt_offset_is_heavily_shrunk(self):
        rng = np.random.default_rng(3)
        z = rng.normal(size=5000)
        y = (rng.random(5000) < 0.8).astype(float)  # an 80 % up regime with no signal
        a, b = families.fit_platt(z, y)
        self.assertLessEqual(abs(b), 0.05)  # unshrunk it would be log(4) = 1.39
        self.assertLess(a, 0.1)


if __name__ == "__main__":
    unittest.main()
