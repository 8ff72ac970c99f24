"""Groups side by side (MONOLAB_SIDE_BY_SIDE, and the CUDA backend's
`streams` variant, which picks the same waves by itself): a sweep whose
groups train in lockstep writes the same runs.csv (row order included,
apart from `seconds`), loss logs and checkpoints as one trained group by
group; a kill in the middle of a wave resumes to the same result; the
plan shows the waves; a bad value exits 2."""
import os
import signal

import pytest

from conftest import BUILD, TINY, run
from sweepcmp import files, rows

ENV = dict(os.environ, OMP_NUM_THREADS="1")
# Three shapes (k = 8, 16, 24) of 2 seeds x 2 bias offsets: three groups.
CFG = TINY.replace("k: [8, 16]", "k: [8, 16, 24]")


def sweep(monolab, cfg, out, *extra, side=None):
    env = dict(ENV)
    if side is not None:
        env["MONOLAB_SIDE_BY_SIDE"] = str(side)
    return run([monolab, "sweep", cfg, "-o", out, "--device", "cpu", *extra], env=env)


def assert_same_outputs(a, b):
    ha, ra = rows(os.path.join(a, "runs.csv"))
    hb, rb = rows(os.path.join(b, "runs.csv"))
    assert ha == hb and len(ra) == 12
    assert ra == rb, "runs.csv rows differ (or are in another order)"
    for sub in ("loss", "ckpt"):
        fa, fb = files(os.path.join(a, sub)), files(os.path.join(b, sub))
        assert sorted(fa) == sorted(fb) and fa
        assert [k for k in fa if fa[k] != fb[k]] == [], f"{sub}/ differs"


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory):
    d = tmp_path_factory.mktemp("sbs")
    cfg = str(d / "three.yaml")
    with open(cfg, "w") as f:
        f.write(CFG)
    r = sweep(os.path.join(BUILD, "monolab"), cfg, str(d / "one"))
    assert r.returncode == 0, r.stderr
    assert "side by side" not in r.stderr
    return d, cfg, str(d / "one")


@pytest.mark.parametrize("side", [2, 3])
def test_side_by_side_sweep_is_identical(monolab, one_by_one, side):
    d, cfg, one = one_by_one
    out = str(d / f"side{side}")
    r = sweep(monolab, cfg, out, side=side)
    assert r.returncode == 0, r.stderr
    waves = 2 if side == 2 else 1
    assert f"3 groups train side by side in {waves} waves" in r.stderr, r.stderr
    assert "side by side done" in r.stderr, r.stderr
    assert_same_outputs(one, out)


@pytest.mark.parametrize("event,when", [("step", 100), ("write:ckpt", 9), ("write:runs.csv", 3)])
def test_kill_mid_wave_then_resume_is_identical(monolab, one_by_one, tmp_path, event, when):
    d, cfg, one = one_by_one
    out = str(tmp_path / "out")
    env = dict(ENV, MONOLAB_SIDE_BY_SIDE="3", MONOLAB_TEST_KILL_AT=f"{event}:{when}")
    r = run([monolab, "sweep", cfg, "-o", out, "--device", "cpu"], env=env)
    assert r.returncode == -signal.SIGKILL, f"the hook did not fire: {r.returncode} {r.stderr[-400:]}"
    r = sweep(monolab, cfg, out, "--resume", side=3)
    assert r.returncode == 0, r.stderr
    ha, ra = rows(os.path.join(one, "runs.csv"))
    hb, rb = rows(os.path.join(out, "runs.csv"))
    assert sorted(ra) == sorted(rb)  # a resumed sweep may append in another order
    for sub in ("loss", "ckpt"):
        fa, fb = files(os.path.join(one, sub)), files(os.path.join(out, sub))
        assert sorted(fa) == sorted(fb) and [k for k in fa if fa[k] != fb[k]] == []


def test_dry_run_shows_waves(monolab, one_by_one):
    d, cfg, one = one_by_one
    r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"], env=dict(ENV, MONOLAB_SIDE_BY_SIDE="2"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "group,models,task,N,m,k,batch,steps,tflop,wave"
    assert [l.split(",")[-1] for l in lines[1:4]] == ["0", "0", "1"]
    assert "3 groups train side by side in 2 waves" in r.stderr


@pytest.mark.parametrize("bad", ["0", "x", "65", "2x", ""])
def test_bad_side_by_side_exits_2(monolab, one_by_one, tmp_path, bad):
    d, cfg, one = one_by_one
    r = sweep(monolab, cfg, str(tmp_path / "o"), side=bad)
    assert r.returncode == 2, r.stderr
    assert "MONOLAB_SIDE_BY_SIDE" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not os.path.exists(str(tmp_path / "o" / "runs.csv"))
