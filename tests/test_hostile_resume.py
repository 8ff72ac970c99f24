"""--resume and merge trust nothing they read (issue: no injection, no
clobbering): a damaged runs.csv row, a row whose id is not the grid's, a row
trained with another config (config.yaml deleted or swapped) is named and
refused with exit 2; a finished run whose files are gone is trained again by
--resume and refused by merge; a killed merge's temporary files are removed."""
import os
import shutil

import pytest

from conftest import TINY, run, run_id


def sweep(monolab, cfg, out, *extra):
    return run([monolab, "sweep", str(cfg), "-o", str(out), "--device", "cpu", *extra])


@pytest.fixture
def done(monolab, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "out"
    r = sweep(monolab, cfg, out)
    assert r.returncode == 0, r.stderr
    return cfg, out


def lines(path):
    return path.read_text().splitlines(keepends=True)


def test_resume_refuses_a_short_row(monolab, done):
    cfg, out = done
    csv = out / "runs.csv"
    with open(csv, "r+b") as f:  # truncate -s -100 runs.csv; echo >> runs.csv
        f.truncate(os.path.getsize(csv) - 100)
        f.seek(0, 2)
        f.write(b"\n")
    r = sweep(monolab, cfg, out, "--resume")
    assert r.returncode == 2 and f"{csv}:9: has " in r.stderr and "a damaged row" in r.stderr, r.stderr


def test_resume_refuses_an_id_not_of_the_grid(monolab, done):
    cfg, out = done
    csv = out / "runs.csv"
    ls = lines(csv)
    ls[1] = "rZZZZZZ" + ls[1][ls[1].index(","):]
    csv.write_text("".join(ls))
    r = sweep(monolab, cfg, out, "--resume")
    assert r.returncode == 2 and f"{csv}:2: run id 'rZZZZZZ' is not a run of this config's grid" in r.stderr


def test_resume_with_config_deleted_refuses_another_config(monolab, done):
    cfg, out = done
    os.remove(out / "config.yaml")
    before = (out / "runs.csv").read_text()
    r = sweep(monolab, cfg, out, "--resume", "train.lr=0.02")
    # the row's id names no run of the grid; the closest run names the setting
    assert r.returncode == 2 and f"{out}/runs.csv:2: run {run_id(out, 0)} has lr=0.01, this config has 0.02" \
        in r.stderr, r.stderr
    assert (out / "runs.csv").read_text() == before


def test_resume_trains_again_a_run_whose_files_are_gone(monolab, done):
    cfg, out = done
    r3, r5 = run_id(out, 3), run_id(out, 5)
    before = sorted(l.split(",")[0] for l in lines(out / "runs.csv")[1:])
    ckpt = out / "ckpt" / r3 / "step_000064.safetensors"
    want, want_loss = ckpt.read_bytes(), (out / "loss" / f"{r5}.csv").read_bytes()
    os.remove(ckpt)
    os.remove(out / "loss" / f"{r5}.csv")
    r = sweep(monolab, cfg, out, "--resume")
    assert r.returncode == 0, r.stderr
    assert f"{r3} has a row but no ckpt/{r3}/step_000064.safetensors; training it again" in r.stderr
    # retrained alone, the run gives the bits it gave in its group (docs/architecture.md "Determinism")
    assert ckpt.read_bytes() == want, "trained again, bit for bit"
    assert (out / "loss" / f"{r5}.csv").read_bytes() == want_loss
    ids = sorted(l.split(",")[0] for l in lines(out / "runs.csv")[1:])
    assert ids == before and len(set(ids)) == 8, "each run once"


@pytest.fixture
def shards(monolab, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "out"
    for i in range(2):
        r = sweep(monolab, cfg, out, "--shard", f"{i}/2")
        assert r.returncode == 0, r.stderr
    return cfg, out


def refused(monolab, out, why):
    r = run([monolab, "merge", str(out)])
    assert r.returncode == 2 and why in r.stderr and "nothing merged" in r.stderr, r.stderr
    assert not (out / "runs.csv").exists()


def test_merge_refuses_damaged_and_foreign_rows(monolab, shards):
    _, out = shards
    csv = out / "shards" / "1" / "runs.csv"
    good = csv.read_text()
    ls = lines(csv)
    csv.write_text("".join(ls[:-1]) + ls[-1][:40] + "\n")
    refused(monolab, out, f"shard 1: {csv}:{len(ls)}: has ")
    ls[1] = "rZZZZZZ" + ls[1][ls[1].index(","):]
    csv.write_text("".join(ls))
    refused(monolab, out, f"shard 1: {csv}:2: run id 'rZZZZZZ'")
    csv.write_text(good)
    for i in range(2):  # every shard's config swapped for one with another lr
        c = out / "shards" / str(i) / "config.yaml"
        c.write_text(c.read_text().replace("lr: 0.01", "lr: 0.02"))
    # run ids name the settings: the shards' manifests list other runs than this config's, and a row says why
    refused(monolab, out, f"shard 0 ({out}/shards/0) was not trained with its config.yaml: {out}/shards/0/runs.csv:2: "
            f"run {run_id(out / 'shards' / '0')} has lr=0.01, this config has 0.02")
    (out / "shards" / "0" / "runs.csv").write_text(ls[0])  # no row to say why
    refused(monolab, out, f"shard 0 lists other runs than shard 0/2 of this config ({out}/shards/0/shard.txt)")


def test_merge_refuses_runs_whose_files_are_gone(monolab, shards):
    _, out = shards
    r0 = run_id(out / "shards" / "0", 0)  # the first run of the grid
    shutil.rmtree(out / "shards" / "0" / "ckpt")
    shutil.rmtree(out / "shards" / "1" / "loss")
    refused(monolab, out, f"shard 0 has a row for {r0} but no ckpt/{r0}/step_000000.safetensors")
    refused(monolab, out, "; 5 more runs lack files")  # the first 3 of all 8 are named


def test_merge_removes_a_killed_merges_leftovers(monolab, shards):
    _, out = shards
    (out / "loss").mkdir()
    for name in ("loss/r000000.csv.merge4242", "config.yaml.tmp4242"):
        (out / name).write_text("half")
    r = run([monolab, "merge", str(out)])
    assert r.returncode == 0, r.stderr
    assert not (out / "loss" / "r000000.csv.merge4242").exists() and not (out / "config.yaml.tmp4242").exists()
    assert len(lines(out / "runs.csv")) == 9
