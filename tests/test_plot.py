"""`monolab plot`: on a tiny sweep it writes every expected figure as a
valid PNG and SVG of the stated size, and each kept gnuplot script runs
cleanly again; empty or corrupt sweeps exit 2 with a clear message."""
import os
import struct
import subprocess
import tempfile

import pytest

from conftest import TINY as TINY_LOG2, run

TINY = TINY_LOG2.replace("checkpoints: log2", "checkpoints: final")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot")
    cfg = d / "tiny.yaml"
    cfg.write_text(TINY)
    out = d / "out"
    from conftest import BUILD
    r = run([os.path.join(BUILD, "monolab"), "sweep", str(cfg), "-o", str(out), "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    return out


def test_plot_writes_every_figure(monolab, tiny_sweep):
    r = run([monolab, "plot", str(tiny_sweep)])
    assert r.returncode == 0, r.stderr
    fig = tiny_sweep / "figures"
    names = ["loss_by_k", "loss_by_bias_offset", "mono_vs_k", "eval_loss_vs_k", "mono_vs_bias_offset",
             "eval_loss_vs_bias_offset", "mono_vs_loss"]
    import csv
    rows = list(csv.DictReader(open(tiny_sweep / "runs.csv")))
    best = max(rows, key=lambda r: float(r["mono_per_feature"]))["run_id"]
    names += [f"sfa_{best}", f"bias_{best}"]
    for n in names:
        assert png_size(fig / f"{n}.png") == (900, 600), n
        svg = (fig / f"{n}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg and 'width="900"' in svg and 'height="600"' in svg, n
        assert "</svg>" in svg
        rerun = subprocess.run(["gnuplot", f"{n}.gp"], cwd=fig, capture_output=True, text=True)
        assert rerun.returncode == 0, (n, rerun.stderr)
        assert os.path.getsize(fig / f"{n}.dat") > 0
    # the numbers behind mono_vs_k are the medians of runs.csv
    data = [l.split() for l in open(fig / "mono_vs_k.dat") if l.strip() and not l.startswith("#")]
    ks = sorted({float(d[0]) for d in data})
    assert ks == [8.0, 16.0]


def test_plot_named_runs(monolab, tiny_sweep):
    r = run([monolab, "plot", str(tiny_sweep), "--runs", "r000001"])
    assert r.returncode == 0, r.stderr
    assert png_size(tiny_sweep / "figures" / "sfa_r000001.png") == (900, 600)
    r = run([monolab, "plot", str(tiny_sweep), "--runs", "r999999"])
    assert r.returncode == 2 and "run 'r999999' has no checkpoint" in r.stderr


def test_plot_no_runs(monolab):
    with tempfile.TemporaryDirectory() as d:
        r = run([monolab, "plot", d])
        assert r.returncode == 2 and "runs.csv not found" in r.stderr
        with open(os.path.join(d, "runs.csv"), "w") as f:
            f.write("run_id,seed,mono_per_feature,eval_loss\n")
        r = run([monolab, "plot", d])
        assert r.returncode == 2 and "has no finished runs yet" in r.stderr


def test_plot_corrupt_runs_csv(monolab, tiny_sweep):
    with tempfile.TemporaryDirectory() as d:
        text = open(tiny_sweep / "runs.csv").read().splitlines()
        with open(os.path.join(d, "runs.csv"), "w") as f:
            f.write("\n".join(text[:3] + [text[3][:40]]) + "\n")
        r = run([monolab, "plot", d])
        assert r.returncode == 2, r.stderr
        assert "runs.csv:4: expected 31 fields" in r.stderr
        with open(os.path.join(d, "runs.csv"), "w") as f:
            f.write("a,b,c\n1,2,3\n")
        r = run([monolab, "plot", d])
        assert r.returncode == 2 and "not a monolab runs.csv header" in r.stderr
