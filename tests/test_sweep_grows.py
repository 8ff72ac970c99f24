"""Sweeps that grow and compare: --resume with more seeds or axis values
trains only the new runs and keeps every run id and file; run ids name the
settings, so two sweeps' ids never collide unless the runs are the same;
every refusal of another config names the keys and values that differ;
folders written with positional ids (r000012) stay readable and growable."""
import csv
import hashlib
import os
import re

import pytest

from conftest import TINY, run

CPU = ["--device", "cpu"]


def sweep(monolab, d, *args):
    return run([monolab, "sweep", "cfg.yaml", "-o", "out", *CPU, *args], cwd=d)


def rows(out):
    with open(os.path.join(out, "runs.csv")) as f:
        return list(csv.DictReader(f))


def digests(out):
    """Every file of a sweep folder but config.yaml and runs.csv, by content."""
    got = {}
    for sub in ("loss", "ckpt"):
        for root, _, names in os.walk(os.path.join(out, sub)):
            for n in names:
                p = os.path.join(root, n)
                got[os.path.relpath(p, out)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
    return got


def settings(r):
    return tuple((k, v) for k, v in r.items() if k not in ("run_id", "seconds"))


@pytest.fixture
def grown(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY)
    r = sweep(monolab, tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path, tmp_path / "out"


@pytest.mark.parametrize("over,new", [("seeds=3", 4), ("model.k=[8,16,32]", 4), ("model.bias_offset=[0.0,-1.0,0.5]", 4)])
def test_growing_trains_only_new_runs_and_keeps_every_file(monolab, grown, tmp_path, over, new):
    d, out = grown
    before_rows, before_files = rows(out), digests(out)
    before_csv = open(out / "runs.csv").read()
    r = sweep(monolab, d, over, "--resume")
    assert r.returncode == 0, r.stderr
    assert f"grows from 8 to {8 + new} runs (" in r.stderr and "->" in r.stderr, r.stderr
    assert f"sweep 'tiny': {new} runs in" in r.stderr  # only the new ones train
    after = rows(out)
    assert open(out / "runs.csv").read().startswith(before_csv)  # old rows untouched, new ones appended
    assert len(after) == 8 + new
    ids = [x["run_id"] for x in after]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"r[0-9a-f]{12}", i) for i in ids)
    files = digests(out)
    assert all(files[k] == v for k, v in before_files.items())  # every old file, byte for byte
    assert {x["run_id"] for x in before_rows} < set(ids)
    # the grown folder holds what a fresh sweep of the larger config holds
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "cfg.yaml").write_text(TINY)
    assert sweep(monolab, tmp_path / "fresh", over).returncode == 0
    fresh = rows(tmp_path / "fresh" / "out")
    assert sorted(settings(x) for x in fresh) == sorted(settings(x) for x in after)
    assert {x["run_id"] for x in fresh} == set(ids)
    # and resuming the grown config again finds every run done
    r = sweep(monolab, d, over, "--resume")
    assert r.returncode == 0 and f"{8 + new} of {8 + new} runs already" in r.stderr, r.stderr


@pytest.mark.parametrize("over,resume,msg", [
    (["train.lr=0.02"], True, "holds a different resolved config (train.lr: 0.01 there, 0.02 here); a sweep folder "
     "only grows"),
    (["seeds=1"], True, "(seeds: [0, 1] there, [0] here)"),
    (["model.k=[8]", "train.steps=32"], True, "(model.k: [8, 16] there, [8] here; train.steps: 64 there, 32 here)"),
    (["seeds=3"], False, "(seeds: [0, 1] there, [0, 1, 2] here); resume with the same config"),
    ([], False, "runs.csv already exists; pass --resume to continue or extend that sweep"),
])
def test_refusals_name_what_differs(monolab, grown, over, resume, msg):
    d, out = grown
    before, files = open(out / "runs.csv").read(), digests(out)
    config = open(out / "config.yaml").read()
    r = sweep(monolab, d, *over, *(["--resume"] if resume else []))
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, r.stderr
    assert open(out / "runs.csv").read() == before and digests(out) == files
    assert open(out / "config.yaml").read() == config


def test_a_shard_names_what_differs(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY)
    assert sweep(monolab, tmp_path, "--shard", "0/2").returncode == 0
    r = sweep(monolab, tmp_path, "--shard", "0/2", "train.lr=0.5", "--resume")
    assert r.returncode == 2 and "out/shards/0/config.yaml holds a different resolved config (train.lr: 0.01 " \
        "there, 0.5 here)" in r.stderr, r.stderr
    # shards of two configs: merge names what differs
    assert sweep(monolab, tmp_path, "--shard", "1/2", "train.steps=32").returncode == 0
    r = run([monolab, "merge", "out"], cwd=tmp_path)
    assert r.returncode == 2 and "shard 1 is from a different config than shard 0 (train.steps: 64 there, 32 here)" \
        in r.stderr, r.stderr


def test_ids_do_not_collide_across_sweeps(monolab, tmp_path):
    """Two sweeps of other settings share no id; the same settings in another
    folder get the same ids (they are the same runs)."""
    for name, extra in (("a", []), ("b", ["train.lr=0.02"]), ("c", [])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cfg.yaml").write_text(TINY)
        assert sweep(monolab, tmp_path / name, *extra).returncode == 0
    ids = {n: {x["run_id"] for x in rows(tmp_path / n / "out")} for n in "abc"}
    assert len(ids["a"]) == 8 and not ids["a"] & ids["b"]
    assert ids["a"] == ids["c"]
    # a plot of two folders draws them together, every run told apart by its id
    r = run([monolab, "plot", str(tmp_path / "a" / "out"), str(tmp_path / "b" / "out")],
            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr


def positional(out, order):
    """Rewrites a folder as the sweeps before run ids named settings wrote it:
    r000000... by place in the grid (k, bias_offset, seed), files renamed."""
    text = open(out / "runs.csv").read().splitlines()
    head, body = text[0], text[1:]
    new = {}
    for line in body:
        f = dict(zip(head.split(","), line.split(",")))
        new[f["run_id"]] = f"r{order(f):06d}"
    with open(out / "runs.csv", "w") as fh:
        fh.write("\n".join([head] + [new[l.split(",")[0]] + l[l.index(","):] for l in body]) + "\n")
    for old, pos in new.items():
        os.rename(out / "loss" / f"{old}.csv", out / "loss" / f"{pos}.csv")
        os.rename(out / "ckpt" / old, out / "ckpt" / pos)
    return new


def test_a_folder_of_positional_ids_resumes_and_grows(monolab, grown):
    d, out = grown
    order = lambda f: ["8", "16"].index(f["k"]) * 4 + ["0", "-1"].index(f["bias_offset"]) * 2 + int(f["seed"])
    positional(out, order)
    old_ids = [x["run_id"] for x in rows(out)]
    files = digests(out)
    r = sweep(monolab, d, "--resume")
    assert r.returncode == 0 and "8 of 8 runs already" in r.stderr, r.stderr
    r = sweep(monolab, d, "seeds=3", "--resume")
    assert r.returncode == 0 and "sweep 'tiny': 4 runs in" in r.stderr, r.stderr
    after = [x["run_id"] for x in rows(out)]
    assert after[:8] == old_ids and sorted(old_ids) == [f"r{i:06d}" for i in range(8)]
    assert all(re.fullmatch(r"r[0-9a-f]{12}", i) for i in after[8:])
    assert all(digests(out)[k] == v for k, v in files.items())
    r = sweep(monolab, d, "seeds=3", "--resume")
    assert r.returncode == 0 and "12 of 12 runs already" in r.stderr, r.stderr


def test_a_value_listed_twice_is_refused(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY.replace("k: [8, 16]", "k: [8, 8]"))
    r = sweep(monolab, tmp_path)
    assert r.returncode == 2 and "cfg.yaml: the grid holds the same run twice (seed=" in r.stderr \
        and ";k=8;" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
