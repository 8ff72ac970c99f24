"""`monolab slurm` on a real Slurm: a one-node cluster started here
(tests/slurm_cluster.py) runs the job array of 3 shards of the quickstart at
reduced steps and its dependent merge; the merged result must equal a
one-node run. Then a task is cancelled mid-run (scancel), requeued, and the
final result must still be equal. If Slurm cannot start, this fails and
says why: CI runs as root on a machine where it can."""
import os
import shutil
import tempfile
import time

import pytest

from conftest import run
from slurm_cluster import Cluster
from sweepcmp import assert_same_sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICK = os.path.join(ROOT, "configs", "quickstart.yaml")
# Reduced quickstart: all 80 runs and 5 shapes, 1/16 of the steps.
OVER = ["train.steps=256", "train.t_max=64", "train.log_every=8"]


@pytest.fixture(scope="module")
def cluster():
    # Not under pytest's private tmp folder: munged, running as the munge
    # user, must reach its key and socket.
    root = tempfile.mkdtemp(prefix="monolab-slurm-")
    os.chmod(root, 0o755)
    c = Cluster(root)
    try:
        c.start()
        # One OpenMP thread per task: Slurm gives each task one CPU.
        c.env["OMP_NUM_THREADS"] = "1"
        yield c
    finally:
        if c.procs.get("slurmctld"):
            c.run(["scancel", "--full", "--user", str(os.geteuid())])
        c.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def one_node(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("one") / "quick")
    r = run([os.path.join(ROOT, "build", "monolab"), "sweep", QUICK, *OVER, "-o", out, "--device", "cpu"],
            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    return out


def state(c, job):
    r = c.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"])
    return r.stdout.strip()


def wait_for(what, cond, timeout, c):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    q = c.run(["squeue", "-t", "all"]).stdout
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; squeue:\n{q}")


def submit(c, monolab, out):
    r = c.run([monolab, "slurm", QUICK, *OVER, "--shards", "3", "--gpus-per-task", "0", "--device", "cpu",
               "-o", out, "--submit"])
    assert r.returncode == 0, r.stdout + r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("submitted:")][0]
    array, merge = line.split()[3].rstrip(","), line.split()[-1]
    return array, merge


def merged(c, merge_job, out):
    wait_for("the merge job", lambda: state(c, merge_job) in ("COMPLETED", "FAILED", "CANCELLED"), 300, c)
    logs = os.path.join(out, "slurm", "logs")
    assert state(c, merge_job) == "COMPLETED", "\n".join(
        open(os.path.join(logs, f)).read() for f in sorted(os.listdir(logs)))


def test_array_and_merge_equal_one_node(cluster, monolab, one_node, tmp_path):
    out = str(tmp_path / "quick")
    array, merge = submit(cluster, monolab, out)
    merged(cluster, merge, out)
    for i in range(3):
        assert state(cluster, f"{array}_{i}") == "COMPLETED"
    assert_same_sweep(one_node, out)


def test_cancelled_and_requeued_task_still_equal(cluster, monolab, one_node, tmp_path):
    out = str(tmp_path / "quick")
    array, merge = submit(cluster, monolab, out)
    # Shard 0 holds four groups (k = 16, 32, 64 and part of 128): cancel it
    # once its first group's rows are written and before its last.
    task = f"{array}_0"
    csv0 = os.path.join(out, "shards", "0", "runs.csv")

    def partly_done():
        if not os.path.exists(csv0):
            return False
        n = open(csv0).read().count("\n") - 1
        return n if 0 < n else False

    done_before = wait_for("shard 0's first group", partly_done, 180, cluster)
    r = cluster.run(["scancel", task])
    assert r.returncode == 0, r.stderr
    wait_for("the cancel", lambda: state(cluster, task) == "CANCELLED", 60, cluster)
    with open(os.path.join(out, "shards", "0", "shard.txt")) as f:
        mine = sum(1 for l in f if l.startswith("r0"))
    rows = open(csv0).read().count("\n") - 1
    assert done_before <= rows < mine, f"shard 0 was not cancelled mid-run ({rows} of {mine} runs done)"
    assert run([monolab, "merge", out]).returncode == 2, "merge must refuse while shard 0 is incomplete"
    r = cluster.run(["scontrol", "requeue", task])
    assert r.returncode == 0, r.stderr
    # Slurm holds a requeued job for a while (its begin time); start it now.
    r = cluster.run(["scontrol", "update", f"JobId={task}", "StartTime=now"])
    assert r.returncode == 0, r.stderr
    merged(cluster, merge, out)
    log = open(os.path.join(out, "slurm", "logs", f"sweep_{array}_0.out")).read()
    assert f"resume: {rows} of {mine} runs already in" in log, log
    assert_same_sweep(one_node, out)


# A folder name that breaks unquoted scripts in every way a person's folder
# can: a space, both quotes, a command substitution, Slurm's %-patterns and
# non-ASCII letters.
HOSTILE_DIR = "we ird 'q' \"dq\" $(touch PWNED) %A%j%% é"
SMALL = [*OVER, "model.k=[16,32]", "seeds=2"]


def directives(script):
    """The #SBATCH lines Slurm reads: those before the first command."""
    out = []
    for line in script.splitlines()[1:]:
        if line.startswith("#SBATCH"):
            out.append(line)
        elif line.strip() and not line.startswith("#"):
            break
    return out


def test_hostile_paths_and_names_submit_and_merge(cluster, monolab, tmp_path):
    out = str(tmp_path / HOSTILE_DIR / "quick")
    r = cluster.run([monolab, "slurm", QUICK, *SMALL, "name=my sweep's $(touch PWNED)", "--shards", "3",
                     "--gpus-per-task", "0", "--device", "cpu", "-o", out, "--submit"])
    assert r.returncode == 0, r.stdout + r.stderr
    for s in ("sweep.sbatch", "merge.sbatch"):
        assert run(["bash", "-n", os.path.join(out, "slurm", s)]).returncode == 0
    line = [l for l in r.stdout.splitlines() if l.startswith("submitted:")][0]
    merge_job = line.split()[-1]
    merged(cluster, merge_job, out)
    rows = open(os.path.join(out, "runs.csv")).read().splitlines()
    assert len(rows) == 17, "16 runs merged"
    assert not any("PWNED" in f for _, _, fs in os.walk(tmp_path) for f in fs)


def test_newline_in_folder_or_name_runs_nothing(monolab, tmp_path):
    """A newline in the config's name neither starts a command nor ends
    Slurm's #SBATCH lines before the array and requeue settings; a folder
    Slurm cannot take (newline, backslash) is refused, writing nothing."""
    for bad, why in (("x\ntouch PWNED #", "newline"), ("x\\y", "backslash")):
        out = str(tmp_path / bad / "q")
        r = run([monolab, "slurm", QUICK, *SMALL, "--shards", "3", "-o", out])
        assert r.returncode == 2 and f"holds a {why}; pick another -o" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert os.listdir(tmp_path) == [], "nothing written"
    out = str(tmp_path / "q")
    r = run([monolab, "slurm", QUICK, *SMALL, "name=a\ntouch PWNED #", "--shards", "3", "-o", out])
    assert r.returncode == 0, r.stderr
    for s in ("sweep.sbatch", "merge.sbatch"):
        path = os.path.join(out, "slurm", s)
        assert run(["bash", "-n", path]).returncode == 0
        d = directives(open(path).read())
        assert any("--output=" in l for l in d), d
        if s == "sweep.sbatch":
            assert "#SBATCH --array=0-2" in d and "#SBATCH --requeue" in d, d
        # Run it outside Slurm: monolab refuses --shard auto (exit 2), and
        # no injected line may have run before.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
        run(["bash", path], cwd=str(tmp_path), env=env)
        assert not any("PWNED" in f for _, _, fs in os.walk(tmp_path) for f in fs)


@pytest.mark.parametrize("opt", ["--partition", "--account"])
def test_partition_and_account_are_validated(monolab, tmp_path, opt):
    out = str(tmp_path / "q")
    r = run([monolab, "slurm", QUICK, *SMALL, "--shards", "3", "-o", out, opt, "gpu\ntouch PWNED"])
    assert r.returncode == 2 and f"{opt} needs a Slurm name" in r.stderr, r.stderr
    assert not os.path.exists(out), "nothing written"
    r = run([monolab, "slurm", QUICK, *SMALL, "--shards", "3", "-o", out, opt, "gpu-a100,debug"])
    assert r.returncode == 0, r.stderr
    assert f"#SBATCH {opt}=gpu-a100,debug" in open(os.path.join(out, "slurm", "sweep.sbatch")).read()
