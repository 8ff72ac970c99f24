"""Sharded sweeps without Slurm: `monolab sweep --shard I/N` slices, `monolab
merge` gives the one-node result, refuses what it must, and the merged
folder works with plot and embed. `monolab slurm` writes its scripts.
(tests/test_slurm.py runs them on a real Slurm.)"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import TINY, run, run_id
from sweepcmp import assert_same_sweep

ENV = dict(os.environ, OMP_NUM_THREADS="1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sweep(monolab, cfg, out, *extra, env=ENV):
    return run([monolab, "sweep", cfg, "-o", out, "--device", "cpu", *extra], env=env)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny sweep (8 runs, 2 shapes), once on one node."""
    d = tmp_path_factory.mktemp("shard")
    cfg = str(d / "tiny.yaml")
    with open(cfg, "w") as f:
        f.write(TINY)
    monolab = os.path.join(ROOT, "build", "monolab")
    r = sweep(monolab, cfg, str(d / "one"))
    assert r.returncode == 0, r.stderr
    return d, cfg, str(d / "one")


def run_shards(monolab, cfg, out, n, which=None):
    for i in which if which is not None else range(n):
        r = sweep(monolab, cfg, out, "--shard", f"{i}/{n}")
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("n", [1, 3, 8])
def test_shards_merge_to_the_one_node_run(monolab, tiny, n):
    d, cfg, one = tiny
    out = str(d / f"sh{n}")
    run_shards(monolab, cfg, out, n)
    owned = []
    for i in range(n):
        with open(os.path.join(out, "shards", str(i), "shard.txt")) as f:
            owned += [l.strip() for l in f if re.fullmatch(r"r[0-9a-f]{12}\n", l)]
    assert sorted(owned) == sorted(run_id(one, i) for i in range(8)), "every run in exactly one shard"
    r = run([monolab, "merge", out])
    assert r.returncode == 0, r.stderr
    assert_same_sweep(one, out)
    # Merging again (e.g. after a resumed shard) changes nothing.
    before = open(os.path.join(out, "runs.csv")).read()
    r = run([monolab, "merge", out])
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(out, "runs.csv")).read() == before


def test_merged_folder_works_with_plot_and_embed(monolab, tiny):
    d, cfg, _ = tiny
    out = str(d / "plotme")
    run_shards(monolab, cfg, out, 2)
    assert run([monolab, "merge", out]).returncode == 0
    r = run([monolab, "plot", out], env=ENV)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(os.path.join(out, "figures", "mono_vs_k.png")) > 1000
    ck = os.path.join(out, "ckpt", run_id(out, 5), "step_000064.safetensors")
    r = run([monolab, "embed", ck, "-o", str(d / "emb"), "--device", "cpu", "--samples", "256"], env=ENV)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(d / "emb" / "neurons.csv")


def test_merge_refuses_missing_incomplete_and_foreign_shards(monolab, tiny):
    d, cfg, one = tiny
    out = str(d / "partial")
    run_shards(monolab, cfg, out, 3, which=[0, 1])

    def merge_fails(*needles):
        r = run([monolab, "merge", out])
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        for s in needles:
            assert s in lines[0], lines[0]
        assert "nothing merged" in lines[0]
        assert not os.path.exists(os.path.join(out, "runs.csv"))
        assert not os.path.exists(os.path.join(out, "loss"))

    merge_fails("shard 2 is missing")
    # Shard 1 killed after its first group: a header and fewer rows.
    csv1 = os.path.join(out, "shards", "1", "runs.csv")
    lines = open(csv1).read().splitlines(keepends=True)
    assert len(lines) >= 3, "shard 1 should hold two groups' rows"
    with open(csv1, "w") as f:
        f.write("".join(lines[:2]) + lines[2][:20])  # and a torn row, as a killed append leaves
    merge_fails("shard 2 is missing", f"shard 1 is incomplete (1 of {len(lines) - 1} runs done)")
    assert open(csv1).read().endswith(lines[2][:20]), "merge only reads shards"
    # Another config's shard in the same folder.
    r = sweep(monolab, cfg, out, "--shard", "2/3", "train.lr=0.02")
    assert r.returncode == 0, r.stderr
    merge_fails("shard 2 is from a different config than shard 0")
    shutil.rmtree(os.path.join(out, "shards", "2"))
    # A shard cut for another N.
    r = sweep(monolab, cfg, out, "--shard", "2/4")
    assert r.returncode == 0, r.stderr
    merge_fails("shard 2 was cut for 4 shards, shard 0 for 3")
    shutil.rmtree(os.path.join(out, "shards", "2"))
    # Finish the missing shard, resume the killed one: merge now succeeds.
    run_shards(monolab, cfg, out, 3, which=[2])
    r = sweep(monolab, cfg, out, "--shard", "1/3", "--resume")
    assert r.returncode == 0, r.stderr
    assert "resume: 1 of" in r.stderr and "dropped a torn last line" in r.stderr
    r = run([monolab, "merge", out])
    assert r.returncode == 0, r.stderr
    assert_same_sweep(one, out)


def files(out):
    """Every file under a folder by content, but the lock (it holds the last command's pid)."""
    return {os.path.relpath(os.path.join(p, n), out): open(os.path.join(p, n), "rb").read()
            for p, _, names in os.walk(out) for n in names if n != ".monolab.lock"}


def test_merge_names_what_a_swapped_config_changed(monolab, tiny):
    """Every shard's config.yaml swapped for one with another lr: the shards
    agree with one another, so only their rows (the settings each run
    trained with) can say what differs. merge refuses in one line naming
    each shard's folder, the key and both values, and loses nothing."""
    d, cfg, _ = tiny
    out = str(d / "swapped")
    run_shards(monolab, cfg, out, 2)

    def swap(old, new):
        for i in range(2):
            c = os.path.join(out, "shards", str(i), "config.yaml")
            text = open(c).read()
            assert old in text
            open(c, "w").write(text.replace(old, new))

    def refused():
        before = files(out)
        r = run([monolab, "merge", out])
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].endswith("; nothing merged"), r.stderr
        for i in range(2):
            assert (f"shard {i} ({out}/shards/{i}) was not trained with its config.yaml: {out}/shards/{i}/runs.csv:2: "
                    f"run {run_id(os.path.join(out, 'shards', str(i)))} has lr=0.01, this config has 0.02") in lines[0]
        assert files(out) == before, "a refused merge writes nothing"

    swap("lr: 0.01", "lr: 0.02")
    refused()
    assert not os.path.exists(os.path.join(out, "runs.csv"))
    # after a merge: what it wrote is kept as it was
    swap("lr: 0.02", "lr: 0.01")
    assert run([monolab, "merge", out]).returncode == 0
    swap("lr: 0.01", "lr: 0.02")
    refused()
    assert os.path.exists(os.path.join(out, "runs.csv"))


def test_shard_refuses_other_config_or_n(monolab, tiny):
    d, cfg, _ = tiny
    out = str(d / "refuse")
    run_shards(monolab, cfg, out, 2, which=[0])
    r = sweep(monolab, cfg, out, "--shard", "0/3", "--resume")
    assert r.returncode == 2 and "holds shard 0/2; it cannot resume as shard 0/3" in r.stderr, r.stderr
    assert run([monolab, "merge", out]).returncode == 2
    run_shards(monolab, cfg, out, 2, which=[1])
    assert run([monolab, "merge", out]).returncode == 0
    # After a merge OUTDIR/config.yaml exists; a shard of another config is refused up front.
    r = sweep(monolab, cfg, out, "--shard", "1/2", "--resume", "train.lr=0.5")
    assert r.returncode == 2 and "holds a different resolved config" in r.stderr, r.stderr


def test_shard_auto_reads_the_slurm_array(monolab, tiny):
    d, cfg, _ = tiny
    out = str(d / "auto")
    env = dict(ENV, SLURM_ARRAY_TASK_ID="3", SLURM_ARRAY_TASK_COUNT="3", SLURM_ARRAY_TASK_MIN="1")
    r = sweep(monolab, cfg, out, "--shard", "auto", env=env)
    assert r.returncode == 0, r.stderr
    assert "shard: 2/3\n" in open(os.path.join(out, "shards", "2", "shard.txt")).read()
    env = {k: v for k, v in ENV.items() if not k.startswith("SLURM_")}
    r = sweep(monolab, cfg, out, "--shard", "auto", env=env)
    assert r.returncode == 2 and "--shard auto needs SLURM_ARRAY_TASK_ID" in r.stderr, r.stderr


@pytest.mark.parametrize("arg", ["3/3", "-1/2", "a/b", "1", "0/0", "1/2x"])
def test_bad_shard_argument(monolab, tiny, arg):
    d, cfg, _ = tiny
    r = sweep(monolab, cfg, str(d / "bad"), "--shard", arg)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "--shard" in r.stderr, r.stderr
    assert not os.path.exists(d / "bad")


def test_dry_run_slices_are_balanced_by_flop(monolab):
    """Quickstart's groups cost 1:2:4:8:16; each shard's FLOP is within one
    run's cost of an equal share, and the slices cover the sweep."""
    cfg = os.path.join(ROOT, "configs", "quickstart.yaml")
    run_flop = {k: 2 * 128 * k * (2 * 16 + 3 * 64) * 4096 / 1e12 for k in (16, 32, 64, 128, 256)}
    total = 16 * sum(run_flop.values())
    for n in (2, 3, 7):
        runs, loads = 0, []
        for i in range(n):
            r = run([monolab, "sweep", cfg, "--dry-run", "--shard", f"{i}/{n}", "--device", "cpu"])
            assert r.returncode == 0, r.stderr
            m = re.search(rf"shard {i}/{n} of sweep 'quickstart': (\d+) runs", r.stderr)
            runs += int(m.group(1))
            loads.append(float(re.search(r"total: ([0-9.]+) TFLOP", r.stderr).group(1)))
            assert f"({total:.3f} TFLOP in the whole sweep of 80 runs)" in r.stderr, r.stderr
        assert runs == 80
        assert abs(sum(loads) - total) < 0.01
        for x in loads:
            assert abs(x - total / n) <= run_flop[256] + 0.002, (n, loads)


def test_slurm_writes_scripts(monolab, tiny, tmp_path):
    d, cfg, _ = tiny
    out = str(tmp_path / "sl")
    r = run([monolab, "slurm", cfg, "--shards", "3", "-o", out, "--partition", "gpu", "--account", "lab",
             "--tflops", "0.000001", "--gpus-per-task", "2"])
    assert r.returncode == 0, r.stderr
    sweep_sh = os.path.join(out, "slurm", "sweep.sbatch")
    merge_sh = os.path.join(out, "slurm", "merge.sbatch")
    assert f"scripts: {os.path.realpath(sweep_sh)}" in r.stdout
    assert "--dependency=afterok:${jid%%;*}" in r.stdout
    s = open(sweep_sh).read()
    for line in ("#SBATCH --array=0-2", "#SBATCH --partition=gpu", "#SBATCH --account=lab",
                 "#SBATCH --gpus-per-task=2", "#SBATCH --requeue", "--shard auto --resume"):
        assert line in s, line
    # The largest shard of the tiny sweep at 1 MFLOP/s: time = 1.5 x estimate + 10 min, in whole minutes.
    m = re.search(r"the largest is ([0-9.e+-]+) TFLOP, (\d+) s at", s)
    est = float(m.group(1)) / 1e-6
    assert abs(int(m.group(2)) - est) <= 1
    minutes = -(-(1.5 * est + 600) // 60)
    h, mi = divmod(int(minutes), 60)
    assert f"#SBATCH --time={h:02d}:{mi:02d}:00" in s, s
    assert "#SBATCH --gpus" not in open(merge_sh).read()
    assert "merge " in open(merge_sh).read()
    for p in (sweep_sh, merge_sh):
        assert subprocess.run(["bash", "-n", p]).returncode == 0
    assert open(os.path.join(out, "config.yaml")).read() == open(os.path.join(tiny[2], "config.yaml")).read()
    # Defaults: one GPU per task, the measured CPU rate named as the estimate's source.
    r = run([monolab, "slurm", cfg, "--shards", "2", "-o", out + "2"])
    assert r.returncode == 0 and "bench/RESULTS.md" in r.stdout, r.stdout
    assert "#SBATCH --gpus-per-task=1" in open(os.path.join(out + "2", "slurm", "sweep.sbatch")).read()


@pytest.mark.parametrize("args,msg", [
    (["--shards", "9"], "--shards 9 is more than the sweep's 8 runs"),
    ([], "--shards N is required"),
    (["--shards", "2", "--tflops", "0"], "--tflops needs a positive rate"),
    (["--shards", "2", "--time", "soon"], "--time needs [D-]HH:MM:SS"),
    (["--shards", "2", "--submit"], "sbatch is not on the PATH"),
])
def test_slurm_bad_usage(monolab, tiny, tmp_path, args, msg):
    _, cfg, _ = tiny
    env = dict(ENV, PATH="/nonexistent")
    r = run([monolab, "slurm", cfg, "-o", str(tmp_path / "o"), *args], env=env)
    assert r.returncode == 2, r.stderr
    assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_merge_names_every_problem_at_once(monolab, tiny):
    d, cfg, _ = tiny
    out = str(d / "several")
    run_shards(monolab, cfg, out, 3, which=[0])
    os.makedirs(os.path.join(out, "shards", "1"))  # a task that died before writing anything
    r = run([monolab, "merge", out])
    assert r.returncode == 2, r.stderr
    assert "shard 1 has no shard.txt (it never started); shard 2 is missing; nothing merged" in r.stderr, r.stderr
    shutil.rmtree(os.path.join(out, "shards", "0"))
    r = run([monolab, "merge", out])
    assert r.returncode == 2 and "shard 1 has no shard.txt" in r.stderr, r.stderr
