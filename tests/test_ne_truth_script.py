"""A shrunken `make ne-truth` (scripts/ne_truth.py): a tiny sweep, a 2x2x2
embed grid; the table has one row per checkpoint and setting, its numbers
are those of `monolab embed`'s summary.json for that setting, and the
aggregates, scatter data and figures are written."""
import csv
import json
import os
import sys
import tempfile

import numpy as np

from conftest import ROOT, run, run_id

CFG = """\
name: ne-tiny
seeds: 2
model:
  N: 8
  m: 4
  k: 16
data:
  eps: [0.25, 0.125]
train:
  steps: 64
  batch: 32
  lr: 0.03
eval:
  batch: 64
checkpoints: final
"""
GRID = {"threshold": [0.3, 0.5], "embedding": ["neuron", "pre-mlp"], "probe": ["training", "single"],
        "samples": 512, "max_examples": 20}


def test_ne_truth_script_end_to_end(monolab):
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "c.yaml"), "w").write(CFG)
        json.dump(GRID, open(os.path.join(d, "g.json"), "w"))
        sw = os.path.join(d, "tiny")
        r = run([monolab, "sweep", os.path.join(d, "c.yaml"), "-o", sw, "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        out = os.path.join(d, "out")
        r = run([sys.executable, os.path.join(ROOT, "scripts", "ne_truth.py"), "--grid", os.path.join(d, "g.json"),
                 "--out", out, sw])
        assert r.returncode == 0, r.stderr
        rows = list(csv.DictReader(open(os.path.join(out, "table.csv"))))
        assert len(rows) == 4 * 8
        assert {(r["probe"], r["embedding"], float(r["threshold"])) for r in rows} == {
            (p, e, t) for p in GRID["probe"] for e in GRID["embedding"] for t in GRID["threshold"]}
        # one row against a fresh embed with the same setting
        rid = run_id(sw, 1)
        row = next(r for r in rows if r["run_id"] == rid and r["probe"] == "single"
                   and r["embedding"] == "pre-mlp" and r["threshold"] == "0.3")
        ck = os.path.join(sw, "ckpt", rid, "step_000064.safetensors")
        e = os.path.join(d, "e")
        r = run([monolab, "embed", ck, "-o", e, "--device", "cpu", "--probe", "single", "--embedding", "pre-mlp",
                 "--threshold", "0.3", "--samples", "512", "--max-examples", "20"])
        assert r.returncode == 0, r.stderr
        s = json.load(open(os.path.join(e, "summary.json")))
        for col, key in (("spearman_clusters_feat", "spearman"), ("exact_clusters_input", "exact_match_input"),
                         ("spearman_max_dist_input", "spearman_max_dist_input")):
            want = np.nan if s[key] is None else s[key]
            np.testing.assert_allclose(float(row[col]), want, rtol=1e-12)
        assert int(row["dead_neurons"]) == s["dead_neurons"] and float(row["eps"]) == 0.25 and row["seed"] == "1"
        assert int(row["live_with_examples"]) == s["live_with_examples"]
        scatter = list(csv.DictReader(open(os.path.join(out, "scatter.csv"))))
        assert scatter and all(int(x["true_features"]) > 0 for x in scatter)
        for f in ("spearman_vs_threshold_feat.png", "spearman_vs_threshold_input.png", "scatter_best.png"):
            assert open(os.path.join(out, f), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        agg = open(os.path.join(out, "aggregate.md")).read()
        assert "Best setting" in agg and "| single | pre-mlp | 0.3 |" in agg
