"""Tests of the yz vs OpenDHT bench (bench/compare/compare.py), run by `make test`
through tests/bench/run.sh under Debian's /usr/bin/python3.

- The report arithmetic (percentiles, ratios, number format, the issue-6 target
  lines) on hand-made samples whose answers are known.
- One small end-to-end run of the real bench, both networks on 127.0.0.1 at a
  handful of nodes: it fails when the bench no longer starts either system,
  when a yz flag, HTTP route or answer it relies on changed, or when a figure
  comes out missing. Needs YZ_BIN_DIR (yz, yz-node, yz-bootstrap) and
  python3-opendht; skipped without them, so the arithmetic tests run anywhere.
"""
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "compare"))
import compare  # noqa: E402


def have_opendht():
    try:
        import opendht  # noqa: F401
        return True
    except ImportError:
        return False


class Percentiles(unittest.TestCase):
    def test_empty_is_nan(self):
        self.assertTrue(math.isnan(compare.pct([], 50)))

    def test_single_sample_is_every_percentile(self):
        for p in (0, 50, 99, 100):
            self.assertEqual(compare.pct([7.0], p), 7.0)

    def test_interpolates_between_closest_ranks(self):
        xs = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
        self.assertEqual(compare.pct(xs, 0), 1.0)
        self.assertEqual(compare.pct(xs, 100), 4.0)
        self.assertAlmostEqual(compare.pct(xs, 50), 2.5)
        self.assertAlmostEqual(compare.pct(list(range(101)), 99), 99.0)
        self.assertAlmostEqual(compare.pct([0.0, 10.0], 95), 9.5)


class Ratios(unittest.TestCase):
    def test_ratio(self):
        self.assertAlmostEqual(compare.ratio(1.0, 4.0), 0.25)
        for y, o in ((1.0, 0.0), (1.0, float("nan")), (float("nan"), 1.0), (None, 1.0), (1.0, None)):
            self.assertTrue(math.isnan(compare.ratio(y, o)), (y, o))

    def test_format_keeps_about_four_digits(self):
        self.assertEqual(compare.fmt(float("nan")), "-")
        self.assertEqual(compare.fmt(None), "-")
        self.assertEqual(compare.fmt(1234.6), "1235")
        self.assertEqual(compare.fmt(123.45), "123.5")
        self.assertEqual(compare.fmt(12.345), "12.35")  # 12.345 is stored just above .345
        self.assertEqual(compare.fmt(0.4855), "0.485")  # ...and 0.4855 just below .4855

    def test_table_has_one_row_per_figure_and_the_ratio(self):
        rows = [("put p50", "ms", "lower", 1.0, 2.0, ""), ("ops/s", "ops/s", "higher", 300.0, float("nan"), "")]
        text = compare.render_table([(100, rows)]).splitlines()
        self.assertEqual(len(text), 4)  # header, rule, two rows
        self.assertEqual(text[2].split()[-2:], ["0.50", "lower"])
        self.assertEqual(text[3].split()[-2:], ["-", "higher"])
        md = compare.render_md_table([(100, rows)]).splitlines()
        self.assertEqual(md[2], "| 100 | put p50 | ms | 1.000 | 2.000 | 0.50 | lower |  |")


def result(size, yz_put, odht_put, yz_get, odht_get, yz_mem, odht_mem, shared_mem=None):
    """A measure_size() result with just what targets_text() reads."""
    res = {"size": size,
           "samples": {"yz": {"put": yz_put, "get": yz_get}, "OpenDHT": {"put": odht_put, "get": odht_get}},
           "mem_ready": {"yz": {"rss_kb": yz_mem, "layout": "shared"},
                         "OpenDHT": {"inproc_kb_per_node": odht_mem, "probe_rss_kb": 10 * odht_mem}}}
    if shared_mem is not None:
        res["yz_shared"] = {"kb_per_node": shared_mem}
    return res


class Targets(unittest.TestCase):
    def test_each_target_is_judged_at_100_nodes_only(self):
        fast = [0.4] * 100
        slow = [1.0] * 100
        text = compare.targets_text([result(15, slow, fast, slow, fast, 500, 1),
                                     result(100, fast, slow, slow, slow, 60, 64, shared_mem=70)])
        lines = text.splitlines()
        self.assertIn("- put p50 at 100 nodes: yz/OpenDHT = 0.40 (target <= 0.5): met", lines)
        self.assertIn("- put p99 at 100 nodes: yz/OpenDHT = 0.40 (target <= 0.5): met", lines)
        self.assertIn("- get from another node p50 at 100 nodes: yz/OpenDHT = 1.00 (target <= 0.5): NOT met", lines)
        self.assertTrue(any("sharing one process on both sides: yz/OpenDHT = 1.09" in l and l.endswith("NOT met")
                            for l in lines), lines)
        self.assertTrue(any("the yz network's nodes sharing one process: yz/OpenDHT = 0.94" in l and
                            l.endswith(": met") for l in lines), lines)
        self.assertEqual(len(lines), 6)  # nothing from the 15-node result

    def test_no_100_node_run_says_so(self):
        self.assertEqual(compare.targets_text([]), "(no 100-node run in this result)")


@unittest.skipUnless(os.environ.get("YZ_BIN_DIR") and have_opendht(),
                     "needs YZ_BIN_DIR (built yz programs) and python3-opendht (tests/bench/run.sh sets both up)")
class SmallRun(unittest.TestCase):
    """The whole bench, both systems, at 8 nodes with a few samples of each figure."""

    def test_both_systems_measured_and_written(self):
        out = tempfile.mkdtemp(prefix="yz-bench-test-")
        self.addCleanup(shutil.rmtree, out, True)
        cmd = [sys.executable, os.path.join(ROOT, "bench", "compare", "compare.py"),
               "--yz-bin", os.environ["YZ_BIN_DIR"], "--sizes", "8", "--rounds", "2", "--pairs", "4",
               "--lookups", "2", "--warmup", "1", "--concurrency", "2", "--duration", "1", "--tp-rounds", "1",
               "--settle", "0.5", "--yz-shared-nodes", "3", "--yz-layout", "shared", "--yz-port", "26100",
               "--odht-port", "26600", "--odht-ready-timeout", "30", "--seed", "7", "--out", out, "--name", "small"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stdout[-3000:] + run.stderr[-3000:])
        for ext in ("csv", "md", "json"):
            self.assertTrue(os.path.getsize(os.path.join(out, "small." + ext)) > 0, ext)
        with open(os.path.join(out, "small.csv")) as f:
            rows = {r["figure"]: r for r in csv.DictReader(f)}
        for figure in ("put p50", "put p99", "get from another node p50", "lookup of a random key p50",
                       "ops/s at concurrency 2", "CPU per op at concurrency 2"):
            self.assertIn(figure, rows)
            yz, odht = float(rows[figure]["yz"]), float(rows[figure]["opendht"])
            self.assertGreater(yz, 0, figure)
            self.assertGreater(odht, 0, figure)
            self.assertAlmostEqual(float(rows[figure]["ratio_yz_over_opendht"]), yz / odht, delta=yz / odht * 1e-3)
        self.assertEqual(float(rows["get found the value"]["yz"]), 100.0)
        memory = [r for f, r in rows.items() if f.startswith("memory per node at ready")]
        self.assertTrue(memory and all(float(r["yz"]) > 0 and float(r["opendht"]) > 0 for r in memory), memory)
        self.assertIn("Targets (issue 6)", run.stdout)
        self.assertIn("(no 100-node run in this result)", run.stdout)


if __name__ == "__main__":
    unittest.main()
