"""`monolab plot`: on a tiny sweep it writes every expected figure as a
valid PNG and SVG of the stated size, and each kept gnuplot script runs
cleanly again; empty or corrupt sweeps exit 2 with a clear message."""
import os
import struct
import subprocess
import tempfile

import pytest

from conftest import TINY as TINY_LOG2, run, run_id

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
    rid = run_id(tiny_sweep, 1)
    r = run([monolab, "plot", str(tiny_sweep), "--runs", rid])
    assert r.returncode == 0, r.stderr
    assert png_size(tiny_sweep / "figures" / f"sfa_{rid}.png") == (900, 600)


def test_plot_unknown_run_draws_nothing(monolab, tiny_sweep, tmp_path):
    """An unknown --runs id exits 2 before any figure is written."""
    import shutil
    d = tmp_path / "copy"
    shutil.copytree(tiny_sweep, d, ignore=shutil.ignore_patterns("figures"))
    r = run([monolab, "plot", str(d), "--runs", run_id(d, 1) + ",r999999"])
    assert r.returncode == 2 and "run 'r999999' has no checkpoint" in r.stderr
    assert not (d / "figures").exists()


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


# More settings than one panel shows: 2 k x 2 bias offsets x 11 lr x 2 l1
# (l1 includes 0, on a log axis), one seed; trains in well under a second.
MANY = (TINY.replace("name: tiny", "name: many").replace("seeds: 2", "seeds: 1")
        .replace("lr: 0.01", "lr: [0.003, 0.005, 0.007, 0.01, 0.014, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1]\n  l1: [0.0, 0.01]"))
MANY_SWEPT = ["k", "bias_offset", "lr", "l1"]


@pytest.fixture(scope="module")
def many_sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    (d / "many.yaml").write_text(MANY)
    from conftest import BUILD
    r = run([os.path.join(BUILD, "monolab"), "sweep", str(d / "many.yaml"), "-o", str(d / "out"), "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    r = run([os.path.join(BUILD, "monolab"), "plot", str(d / "out")])
    assert r.returncode == 0, r.stderr
    return d / "out", r.stderr


def pages(fig, name):
    """The files of one figure: NAME and its NAME_pageP continuations."""
    got = [fig / f"{name}.gp"] + sorted(fig.glob(f"{name}_page*.gp"), key=lambda p: int(p.stem.rsplit("page", 1)[1]))
    assert got[0].exists(), name
    return got


def drawn_settings(fig, name, style):
    """Each drawn curve's setting, read back from the scripts and their data:
    a plot clause per curve (counted in the .gp), its block's header in the
    .dat naming the setting (panel and legend together)."""
    settings = []
    for gp in pages(fig, name):
        clauses = gp.read_text().split("set terminal svg")[0].count(style)
        heads = [l[2:].strip() for l in open(gp.with_suffix(".dat")) if l.startswith("# ")]
        assert clauses == len(heads), (gp, clauses, len(heads))
        settings += [frozenset(h.split(", ")) for h in heads]
        rerun = subprocess.run(["gnuplot", gp.name], cwd=fig, capture_output=True, text=True)
        assert rerun.returncode == 0, (gp, rerun.stderr)
        png = gp.with_suffix(".png")
        w, h = png_size(png)
        assert w % 900 == 0 and h % 600 == 0 and (w, h) != (0, 0)
    return settings


def test_plot_every_setting_drawn(many_sweep):
    out, stderr = many_sweep
    import csv
    rows = list(csv.DictReader(open(out / "runs.csv")))
    fig = out / "figures"
    for x in MANY_SWEPT:
        others = [v for v in MANY_SWEPT if v != x]
        expected = {frozenset(f"{v}={r[v]}" for v in others) for r in rows}
        assert len(expected) == (8 if x == "lr" else 44)
        for y in ("mono", "eval_loss"):
            drawn = drawn_settings(fig, f"{y}_vs_{x}", "with yerrorlines")
            assert len(drawn) == len(expected) and set(drawn) == expected, (y, x)
            said = f"{y}_vs_{x}: {len(expected)} curves, more than the 10"
            assert (said in stderr) == (len(expected) > 10), said
    # loss_by_lr: one curve per lr value (11), none dropped
    lrs = {r["lr"] for r in rows}
    drawn = drawn_settings(fig, "loss_by_lr", "with lines lw")
    assert len(drawn) == len(lrs) == 11
    assert {x for s in drawn for x in s if x.startswith("lr=")} == {f"lr={v}" for v in lrs}
    assert "loss_by_lr: 11 curves" in stderr


def test_plot_panel_colours_distinct(many_sweep):
    out, _ = many_sweep
    import re
    for gp in (out / "figures").glob("*.gp"):
        script = gp.read_text().split("set terminal svg")[0]
        for plot in re.split(r"\nplot ", script)[1:]:
            colours = re.findall(r"lc (\d+) title", plot.split("\nset ")[0].split("\nunset")[0])
            assert len(colours) == len(set(colours)) <= 10, gp


def test_plot_zero_on_log_axis(many_sweep):
    out, _ = many_sweep
    gp = (out / "figures" / "mono_vs_l1.gp").read_text()
    assert "set logscale x" in gp and 'set xtics add ("0" ' in gp
    zero_pos = float(gp.split('set xtics add ("0" ')[1].split(")")[0])
    rows = [l.split() for l in open(out / "figures" / "mono_vs_l1.dat") if l.strip() and not l.startswith("#")]
    assert {r[0] for r in rows} == {"0", "0.01"}
    assert all(float(r[5]) == (zero_pos if r[0] == "0" else 0.01) for r in rows) and 0 < zero_pos < 0.01


def test_plot_huge_loss_readable(monolab, tiny_sweep, tmp_path):
    """One run with a blown-up loss puts mono_vs_loss on a log axis; a
    non-finite one is counted in the figure and on stderr, not silently lost."""
    import shutil
    d = tmp_path / "huge"
    shutil.copytree(tiny_sweep, d, ignore=shutil.ignore_patterns("figures"))
    lines = (d / "runs.csv").read_text().splitlines()
    col = lines[0].split(",").index("eval_loss")
    for i, v in ((1, "1e12"), (2, "nan")):
        f = lines[i].split(",")
        f[col] = v
        lines[i] = ",".join(f)
    (d / "runs.csv").write_text("\n".join(lines) + "\n")
    r = run([monolab, "plot", str(d)])
    assert r.returncode == 0, r.stderr
    gp = (d / "figures" / "mono_vs_loss.gp").read_text()
    assert "set logscale x" in gp and "1 run with a non-finite eval loss" in gp
    assert "mono_vs_loss: 1 run with a non-finite eval loss" in r.stderr
    drawn = [l for l in open(d / "figures" / "mono_vs_loss.dat") if l.strip() and not l.startswith("#")]
    assert len(drawn) == len(lines) - 2  # every run with a finite loss, the huge one included
    assert "set logscale y" in (d / "figures" / "eval_loss_vs_k.gp").read_text()


def test_plot_several_folders(monolab, tiny_sweep, tmp_path):
    from conftest import BUILD
    cfg = tmp_path / "wide.yaml"
    cfg.write_text(TINY.replace("k: [8, 16]", "k: [32]").replace("name: tiny", "name: wide"))
    wide = tmp_path / "wide"
    r = run([os.path.join(BUILD, "monolab"), "sweep", str(cfg), "-o", str(wide), "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    figs = tmp_path / "both"
    r = run([monolab, "plot", str(tiny_sweep), str(wide), "-o", str(figs)])
    assert r.returncode == 0, r.stderr
    data = [l.split() for l in open(figs / "mono_vs_k.dat") if l.strip() and not l.startswith("#")]
    assert sorted({float(d[0]) for d in data}) == [8.0, 16.0, 32.0]
    assert "tiny + wide" in (figs / "mono_vs_k.gp").read_text()
    # the same setting and seed in two folders: the folder becomes a variable
    r = run([monolab, "plot", str(tiny_sweep), str(tiny_sweep), "-o", str(tmp_path / "twice")])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "twice" / "mono_vs_sweep.png").exists()
    # axes that do not agree: another task
    cfg.write_text(TINY.replace("task: decoder", "task: reprojector"))
    rep = tmp_path / "rep"
    r = run([os.path.join(BUILD, "monolab"), "sweep", str(cfg), "-o", str(rep), "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    r = run([monolab, "plot", str(tiny_sweep), str(rep), "-o", str(tmp_path / "bad")])
    assert r.returncode == 2 and "not on one axis" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_plot_same_run_in_two_folders(monolab, tiny_sweep, tmp_path):
    """Run ids hash the settings and seed, so a folder grown from the same
    config (here seeds 0-2 beside tiny_sweep's 0-1) holds the same ids.
    --runs FOLDER:ID picks one folder's run; a bare ID held by both draws the
    first folder's and says so in one line; each folder's rows make their own
    curves (the folder is the variable `sweep`), so no run counts twice in a
    median, and stderr says so once."""
    import csv
    import statistics
    from conftest import BUILD
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY)
    a, b = str(tiny_sweep), str(tmp_path / "grown")
    r = run([os.path.join(BUILD, "monolab"), "sweep", str(cfg), "-o", b, "--device", "cpu", "seeds=3"])
    assert r.returncode == 0, r.stderr
    rid = run_id(a, 1)
    ids = {d: {x["run_id"] for x in csv.DictReader(open(os.path.join(d, "runs.csv")))} for d in (a, b)}
    assert rid in ids[b] and len(ids[b] - ids[a]) == 4
    figs = tmp_path / "figs"
    r = run([monolab, "plot", a, b, "-o", str(figs), "--runs", rid])
    assert r.returncode == 0, r.stderr
    said = [l for l in r.stderr.splitlines() if rid in l]
    assert said == [f"[monolab] plot: run {rid} is in {a} and {b} (the same settings and seed); drawing {a}'s; "
                    f"name one as FOLDER:ID to choose (--runs {b}:{rid})"], r.stderr
    assert sorted(f.name for f in figs.glob("sfa_*.png")) == [f"sfa_{rid}.png"]
    shared = [l for l in r.stderr.splitlines() if "also in another folder" in l]
    assert shared == ["[monolab] plot: 8 runs are also in another folder (the same settings and seed): the folder is "
                      "a swept variable, sweep, so each folder's runs make their own curves and none counts twice"]
    # each curve's median is over one folder's rows
    for d in (a, b):
        rows = list(csv.DictReader(open(os.path.join(d, "runs.csv"))))
        for bias in ("0", "-1"):
            want = [statistics.median(float(x["mono_per_feature"]) for x in rows
                                      if x["k"] == k and x["bias_offset"] == bias) for k in ("8", "16")]
            block = (figs / "mono_vs_k.dat").read_text().split(f"# bias_offset={bias}, sweep={d}\n")[1]
            got = [float(l.split()[1]) for l in block.split("\n\n")[0].splitlines()]
            assert got == pytest.approx(want), (d, bias)
    # both folders' runs of one id, each in its own file; the second's title names its folder
    r = run([monolab, "plot", a, b, "-o", str(figs), "--runs", f"{b}:{rid},{a}/:{rid}"])
    assert r.returncode == 0, r.stderr
    assert rid not in r.stderr
    assert sorted(f.name for f in figs.glob("sfa_*.png")) == [f"sfa_{rid}.png", f"sfa_{rid}_2.png"]
    assert f"run {rid} in {b} " in (figs / f"sfa_{rid}_2.gp").read_text()
    # a folder that is not drawn, or a run it does not hold: exit 2, nothing drawn
    for spec, msg in ((f"{tmp_path}:{rid}", f"{tmp_path} is not one of the folders drawn"),
                      (f"{a}:{min(ids[b] - ids[a])}", f"it is not a run of {a}/runs.csv")):
        r = run([monolab, "plot", a, b, "-o", str(tmp_path / "none"), "--runs", spec])
        refusal = [l for l in r.stderr.splitlines() if l.startswith("monolab: ")]
        assert r.returncode == 2 and len(refusal) == 1 and msg in refusal[0], r.stderr
        assert not (tmp_path / "none").exists()


def test_plot_folders_with_quotes_in_their_names(monolab, tiny_sweep, tmp_path):
    """A folder's path is text for gnuplot (the `sweep` variable's values)
    and a path to read: making the first safe must not change the second."""
    import shutil
    odd = tmp_path / "it's \"odd\" @runs"
    shutil.copytree(tiny_sweep, odd)
    rid = run_id(odd)
    r = run([monolab, "plot", str(tiny_sweep), str(odd), "--runs", f"{odd}:{rid}", "-o", str(tmp_path / "figs")])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "figs" / "mono_vs_sweep.png").exists()
    assert any(p.name.startswith(f"sfa_{rid}") for p in (tmp_path / "figs").iterdir())
