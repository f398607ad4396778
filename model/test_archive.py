"""The optional `archive` dataset (the pipeline's own history, docs/model.md): `.local/venv/bin/python -m unittest
discover -s model`."""

import tempfile
import unittest
from pathlib import Path

import train

NAMES = ["f1"]


def write_table(path, seconds):
    """A dataset-builder-shaped CSV with one row every 250 ms over `seconds`."""
    lines = [",".join(["time_us", *NAMES, "completeness", "mid", "future_mid", "return_10s", "direction"])]
    for i in range(int(seconds * 4)):
        lines.append(f"{1_000_000_000 + i * 250_000},0.5,1,100,100.01,0.0001,up")
    Path(path).write_text("\n".join(lines) + "\n")


class ArchiveDatasetTest(unittest.TestCase):
    def setUp(self):
        self.saved = train.DATASETS
        train.DATASETS = {"archive": ("archive_250ms.csv", True, "own history")}

    def tearDown(self):
        train.DATASETS = self.saved

    def test_a_missing_archive_table_is_skipped_not_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            logs = []
            self.assertEqual(train.load_datasets(Path(d), NAMES, log=logs.append), [])
            self.assertIn("SKIP archive", logs[0])

    def test_an_archive_too_short_for_one_test_block_is_skipped_with_the_reason(self):
        with tempfile.TemporaryDirectory() as d:
            write_table(Path(d) / "archive_250ms.csv", 74)  # a one-minute `make run`
            logs = []
            self.assertEqual(train.load_datasets(Path(d), NAMES, log=logs.append), [])
            self.assertIn("too short", logs[0])

    def test_a_long_enough_archive_is_pooled(self):
        with tempfile.TemporaryDirectory() as d:
            write_table(Path(d) / "archive_250ms.csv", 600)
            out = train.load_datasets(Path(d), NAMES, log=lambda _m: None)
            self.assertEqual([(ds.name, ds.pooled) for ds in out], [("archive", True)])


if __name__ == "__main__":
    unittest.main()
