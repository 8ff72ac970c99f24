"""The CLI contract: bad configs exit 2 with a specific one-line message,
outputs have the promised shape, and a killed sweep resumes to the same
runs.csv as an uninterrupted one."""
import csv
import os
import re
import signal
import subprocess
import tempfile
import time

import numpy as np
import pytest

from conftest import TINY, run
from stio import load


BAD = [
    # (yaml text, overrides, expected substring of the one-line message)
    ("model:\n  N: 16\n  witdh: 3\n", [], "cfg.yaml:3: unknown key 'model.witdh'"),
    ("colour: red\n", [], "cfg.yaml:1: unknown key 'colour'"),
    ("model:\n  k: 0\n", [], "cfg.yaml:2: 'model.k' must be in [1,"),
    ("model:\n  k: [16, -4]\n", [], "cfg.yaml:2: 'model.k' must be in [1,"),
    ("model:\n  k: lots\n", [], "cfg.yaml:2: 'model.k' must be an integer, got 'lots'"),
    ("data:\n  eps: 0\n", [], "cfg.yaml:2: 'data.eps' must be in (0, 1], got 0"),
    ("data:\n  eps: 1.5\n", [], "'data.eps' must be in (0, 1], got 1.5"),
    ("train:\n  lr: -0.1\n", [], "cfg.yaml:2: 'train.lr' must be >= 0, got -0.1"),
    ("train:\n  optimizer: sgd\n", [], "'train.optimizer' must be one of lamb | adam | adamw, got 'sgd'"),
    ("model:\n  activation: tanh\n", [], "'model.activation' must be one of relu | gelu | solu"),
    ("train:\n  batch: big\n", [], "'train.batch' must be an integer or \"auto\""),
    ("model:\n  N: 8\n  m: 16\n", [], "model.m (16) must be <= model.N (8)"),
    ("model: [1, 2\n", [], "cfg.yaml:2: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1)"),
    ("model: 3\n", [], "cfg.yaml:1: 'model' must be a mapping"),
    ("seeds: -1\n", [], "cfg.yaml:1: 'seeds' must be a count >= 1"),
    ("task: decoder\ntask: abs\n", [], "cfg.yaml:2: duplicate key 'task'"),
    ("task: decoder\n", ["train.lr=-1"], "command-line override: 'train.lr' must be >= 0"),
    ("task: decoder\n", ["model.kk=4"], "override 'model.kk=4': unknown key 'model.kk'"),
    ("task: decoder\n", ["lr"], "unexpected argument 'lr'"),
]


@pytest.mark.parametrize("text,over,msg", BAD)
def test_bad_config_exits_2_with_message(monolab, text, over, msg):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "cfg.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        out = os.path.join(d, "out")
        r = run([monolab, "sweep", "cfg.yaml", *over, "-o", out, "--device", "cpu"], cwd=d)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert msg in lines[0], lines[0]
        assert not os.path.exists(os.path.join(out, "runs.csv")), "nothing may run on a bad config"


def test_missing_config_file(monolab):
    r = run([monolab, "sweep", "/nonexistent/x.yaml", "--device", "cpu"])
    assert r.returncode == 2 and "cannot open config '/nonexistent/x.yaml'" in r.stderr


def write_cfg(d, text=TINY):
    cfg = os.path.join(d, "tiny.yaml")
    with open(cfg, "w") as f:
        f.write(text)
    return cfg


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_sweep_outputs_contract(monolab):
    with tempfile.TemporaryDirectory() as d:
        cfg = write_cfg(d)
        out = os.path.join(d, "out")
        r = run([monolab, "sweep", cfg, "train.lr=[0.01,0.02]", "-o", out, "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        # stderr is not a terminal: no redrawn progress, one line per finished group
        assert "\r" not in r.stderr
        assert [l for l in r.stderr.splitlines() if " done: " in l][-1].startswith("[monolab] group 2/2 done")
        rows = read_rows(os.path.join(out, "runs.csv"))
        assert len(rows) == 2 * 2 * 2 * 2  # k x bias x lr x seeds
        assert {r["lr"] for r in rows} == {"0.01", "0.02"}
        assert len({r["run_id"] for r in rows}) == 16 and all(re.fullmatch(r"r[0-9a-f]{12}", r["run_id"]) for r in rows)
        for row in rows:
            assert row["diverged"] == "-1"
            assert 0 <= float(row["mono_per_feature"]) <= int(row["k"]) / 16
            assert np.isfinite(float(row["eval_loss"]))
            loss = np.genfromtxt(os.path.join(out, "loss", row["run_id"] + ".csv"), delimiter=",", names=True)
            assert list(loss["step"]) == list(range(0, 64, 16))
            ck = sorted(os.listdir(os.path.join(out, "ckpt", row["run_id"])))
            assert ck == [f"step_{s:06d}.safetensors" for s in (0, 1, 2, 4, 8, 16, 32, 64)]
            t, meta = load(os.path.join(out, "ckpt", row["run_id"], "step_000064.safetensors"))
            k = int(row["k"])
            assert t["W1"].shape == (k, 4) and t["b1"].shape == (k,) and t["W2"].shape == (16, k)
            assert t["P"].shape == (4, 16)
            assert meta["run_id"] == row["run_id"] and meta["lr"] == row["lr"] and meta["step"] == "64"
        with open(os.path.join(out, "config.yaml")) as f:
            resolved = f.read()
        assert "lr: [0.01,0.02]" in resolved.replace(" ", "").replace("lr:[0.01,0.02]", "lr: [0.01,0.02]")
        # A second sweep into the same directory must not clobber it.
        r = run([monolab, "sweep", cfg, "train.lr=[0.01,0.02]", "-o", out, "--device", "cpu"])
        assert r.returncode == 2 and "pass --resume" in r.stderr
        r = run([monolab, "sweep", cfg, "train.lr=0.5", "-o", out, "--device", "cpu", "--resume"])
        assert r.returncode == 2 and "different resolved config" in r.stderr


def strip_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_resume_after_kill_matches_uninterrupted(monolab):
    text = TINY.replace("k: [8, 16]", "k: [8, 12, 16, 20, 24, 28]").replace("steps: 64", "steps: 1500")
    with tempfile.TemporaryDirectory() as d:
        cfg = write_cfg(d, text)
        full, cut = os.path.join(d, "full"), os.path.join(d, "cut")
        r = run([monolab, "sweep", cfg, "-o", full, "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        ref = read_rows(os.path.join(full, "runs.csv"))
        assert len(ref) == 24
        p = subprocess.Popen([monolab, "sweep", cfg, "-o", cut, "--device", "cpu"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        csv_path = os.path.join(cut, "runs.csv")
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.path.exists(csv_path) and len(read_rows(csv_path)) >= 4:
                break
            time.sleep(0.005)
        p.send_signal(signal.SIGKILL)
        p.wait()
        n_cut = len(read_rows(csv_path))
        assert 4 <= n_cut < 24, f"kill landed at {n_cut} rows; the test needs a mid-way kill"
        r = run([monolab, "sweep", cfg, "-o", cut, "--device", "cpu", "--resume"])
        assert r.returncode == 0, r.stderr
        assert f"resume: {n_cut} of 24 runs already" in r.stderr
        assert strip_seconds(read_rows(csv_path)) == strip_seconds(ref)
        # A torn last line (killed mid-append) is dropped on resume.
        with open(csv_path) as f:
            body = f.read()
        lines = body.splitlines(keepends=True)
        with open(csv_path, "w") as f:
            f.write("".join(lines[:-2]) + lines[-2][:10])
        r = run([monolab, "sweep", cfg, "-o", cut, "--device", "cpu", "--resume"])
        assert r.returncode == 0, r.stderr
        assert "dropped a torn last line" in r.stderr
        by_id = lambda rows: sorted(strip_seconds(rows), key=lambda r: r["run_id"])
        assert by_id(read_rows(csv_path)) == by_id(ref)


EXPECTED_RUNS = {"LR1": 18, "LR2": 18, "LR3": 18, "LR4": 18, "B1": 33, "B2": 33, "B3": 33, "B4": 33, "B5": 33,
                 "GeLU": 198, "E1": 33, "E2": 33, "E3": 33, "E4": 33, "K0": 24, "K1": 24, "K2": 24,
                 "RG1": 21, "RP1": 18, "LR5": 18, "D1": 21}


@pytest.mark.parametrize("name", sorted(EXPECTED_RUNS))
def test_paper_configs_load(monolab, name):
    """Every docs/science.md §1.10 batch ships as a config that validates and expands."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = run([monolab, "sweep", os.path.join(root, "configs", "jermyn2022", name + ".yaml"), "--dry-run",
             "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    assert f"sweep '{name}': {EXPECTED_RUNS[name]} runs" in r.stderr
    assert "N=512" not in r.stdout  # plan rows are CSV
    assert ",512,64," in r.stdout


def test_quickstart_config_loads(monolab):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = run([monolab, "sweep", os.path.join(root, "configs", "quickstart.yaml"), "--dry-run", "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    assert "80 runs in 5 groups" in r.stderr


def test_dry_run_stdout_is_plain_csv(monolab):
    """`monolab sweep CFG --dry-run > plan.csv` must load as a table (as
    pandas.read_csv would): the header first, then one numeric row per group,
    and no prose; the totals go to stderr."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = run([monolab, "sweep", os.path.join(root, "configs", "quickstart.yaml"), "--dry-run", "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    plan = np.genfromtxt(r.stdout.splitlines(), delimiter=",", names=True, dtype=None, encoding=None)
    assert plan.dtype.names == ("group", "models", "task", "N", "m", "k", "batch", "steps", "tflop", "wave")
    assert list(plan["k"]) == [16, 32, 64, 128, 256] and list(plan["models"]) == [16] * 5
    assert plan["tflop"].dtype.kind == "f" and abs(plan["tflop"].sum() - 1.864) < 0.002
    assert "total: 1.864 TFLOP of training" in r.stderr


def test_memory_budget_splits_and_refuses(monolab):
    with tempfile.TemporaryDirectory() as d:
        cfg = write_cfg(d)
        from conftest import BUILD  # noqa: F401
        env = dict(os.environ, MONOLAB_MEM_GB="0.00003")  # 30 kB: one to three tiny models per group
        r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"], env=env)
        assert r.returncode == 0, r.stderr
        groups = [l for l in r.stdout.splitlines()[1:] if l and l[0].isdigit()]
        assert len(groups) > 2 and all(int(g.split(",")[1]) < 4 for g in groups)
        env["MONOLAB_MEM_GB"] = "0.000001"
        r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"], env=env)
        assert r.returncode == 2 and "more than the memory budget" in r.stderr


def test_make_install_puts_a_working_monolab_under_prefix(tmp_path):
    """`make install PREFIX=...`: the binary runs from there, outside the
    checkout, and the explorer's page is installed beside it."""
    from conftest import ROOT
    r = run(["make", "-s", "install", f"PREFIX={tmp_path}"], cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    exe = tmp_path / "bin" / "monolab"
    assert os.access(exe, os.X_OK)
    assert sorted(os.listdir(tmp_path / "share" / "monolab" / "explorer")) == ["explorer.css", "explorer.js", "index.html"]
    r = run([str(exe), "info"], cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("monolab "), r.stderr
