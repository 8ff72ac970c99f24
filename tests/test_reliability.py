"""Nothing lost, whatever happens: SIGKILL at 20 seeded moments, SIGTERM and
SIGINT, a full disk, an unwritable folder, two sweeps on one folder, and
readers of runs.csv during a sweep.

The reference for "nothing lost" is an uninterrupted run of the same
config: training is deterministic, so every loss file and checkpoint of an
interrupted-then-resumed sweep must be byte-identical to it, and runs.csv
identical apart from `seconds`."""
import csv
import fcntl
import os
import random
import re
import select
import shlex
import signal
import subprocess
import tempfile
import threading
import sys
import time

import pytest

from conftest import BUILD, run
from sweepcmp import files as outputs  # every file under its final name: relative path -> bytes

MONOLAB = os.path.join(BUILD, "monolab")

# 3 groups (one per k) of 4 models; log2 checkpoints: 10 per run.
CFG = """\
name: kill
seeds: 2
model:
  N: 16
  m: 4
  k: [8, 12, 16]
  bias_offset: [0.0, -1.0]
data:
  eps: 0.125
train:
  steps: 200
  batch: 32
  lr: 0.01
eval:
  batch: 64
checkpoints: log2
"""
N_RUNS, N_GROUPS, STEPS = 12, 3, 200
N_CKPT_WRITES = N_RUNS * 10  # steps 0, 1, 2, 4, ..., 128, 200
TIMED_KILLS_LANDED = []


def sweep_cmd(monolab, cfg, out, *extra):
    return [monolab, "sweep", cfg, "-o", out, "--device", "cpu", *extra]


def csv_rows(data):
    text = data.decode()
    assert text.endswith("\n"), "runs.csv must never end in a torn row"
    rows = list(csv.reader(text.splitlines()))
    assert all(len(r) == len(rows[0]) for r in rows), "runs.csv has a row with missing fields"
    sec = rows[0].index("seconds")
    return [r[:sec] + r[sec + 1:] for r in rows]


def assert_no_torn_files(out, ref):
    """After a kill: whatever is visible under a final name is complete, so
    it equals the reference byte for byte (runs.csv: a prefix of its rows;
    a loss log of a group cut short: a prefix of its lines, as written live)."""
    for name, data in outputs(out).items():
        if re.search(r"\.tmp\d+$", name) or name == ".monolab.lock":
            continue  # temporary names are allowed to be partial
        if name == "runs.csv":
            got, want = csv_rows(data), csv_rows(ref[name])
            assert got == want[:len(got)], "runs.csv rows differ from the reference"
        elif name.startswith("loss/"):
            assert data.endswith(b"\n") and ref[name].startswith(data), f"{name} is not a prefix of whole rows"
        else:
            assert data == ref[name], f"{name} is visible but differs from the reference (torn?)"


def assert_same_as_reference(out, ref):
    got = outputs(out)
    got.pop(".monolab.lock", None)
    assert not [n for n in got if re.search(r"\.tmp\d+$", n)], "temporary files left after resume"
    assert sorted(got) == sorted(ref)
    for name in ref:
        if name == "runs.csv":
            assert csv_rows(got[name]) == csv_rows(ref[name])
        else:
            assert got[name] == ref[name], name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    cfg = os.path.join(d, "kill.yaml")
    with open(cfg, "w") as f:
        f.write(CFG)
    out = os.path.join(d, "out")
    t0 = time.time()
    r = run(sweep_cmd(MONOLAB, cfg, out))
    assert r.returncode == 0, r.stderr
    ref = outputs(out)
    ref.pop(".monolab.lock")
    assert len(csv_rows(ref["runs.csv"])) == N_RUNS + 1
    assert sum(n.endswith(".safetensors") for n in ref) == N_CKPT_WRITES
    return cfg, ref, time.time() - t0


def kill_moments():
    """20 moments, seeded: 12 exact ones through the test-only hook
    (MONOLAB_TEST_KILL_AT, see include/monolab/testhook.h) and 8 at random
    times (which land mostly mid-step, where the time goes)."""
    rng = random.Random(20221)
    moments = [("write:config", 1), ("write:runs.csv", 1)]  # first file; the header
    moments += [("write:runs.csv", rng.randint(2, N_GROUPS + 1)) for _ in range(2)]  # a group's rows
    moments += [("write:ckpt", rng.randint(1, N_CKPT_WRITES)) for _ in range(2)]
    moments += [("write:loss", rng.randint(1, N_RUNS)) for _ in range(2)]
    moments += [("group", 1), ("group", 2)]  # between groups
    moments += [("step", rng.randint(1, N_GROUPS * STEPS)) for _ in range(2)]  # mid-group
    moments += [("time", rng.uniform(0.05, 0.9)) for _ in range(8)]
    assert len(moments) == 20
    return moments


@pytest.mark.parametrize("event,when", kill_moments(), ids=lambda v: str(v))
def test_sigkill_anywhere_then_resume_is_identical(monolab, reference, tmp_path, event, when):
    cfg, ref, seconds = reference
    out = str(tmp_path / "out")
    if event == "time":
        p = subprocess.Popen(sweep_cmd(monolab, cfg, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=when * seconds)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            TIMED_KILLS_LANDED.append(when)
        # A sweep faster than this run of the reference may finish first:
        # then it is a plain complete run, which must also be identical.
        assert p.returncode in (0, -signal.SIGKILL)
    else:
        env = dict(os.environ, MONOLAB_TEST_KILL_AT=f"{event}:{when}")
        r = run(sweep_cmd(monolab, cfg, out), env=env)
        assert r.returncode == -signal.SIGKILL, f"the hook did not fire: rc {r.returncode} {r.stderr[-500:]}"
    assert_no_torn_files(out, ref)
    r = run(sweep_cmd(monolab, cfg, out, "--resume"))
    assert r.returncode == 0, r.stderr
    assert_same_as_reference(out, ref)


def test_loss_logs_grow_while_a_group_trains(monolab, reference, tmp_path):
    """With live writes at every log interval (MONOLAB_LIVE_LOG_S=0), a
    group killed mid-training has left its loss logs so far: whole rows, a
    prefix of the finished logs; resuming ends identical to the reference."""
    cfg, ref, _ = reference
    out = str(tmp_path / "out")
    env = dict(os.environ, MONOLAB_LIVE_LOG_S="0", MONOLAB_TEST_KILL_AT=f"step:{STEPS + 100}")  # group 2, step 100
    r = run(sweep_cmd(monolab, cfg, out), env=env)
    assert r.returncode == -signal.SIGKILL, r.stderr[-500:]
    rows = csv_rows(open(os.path.join(out, "runs.csv"), "rb").read())
    assert len(rows) == 1 + 4  # group 2 unfinished
    finished = {row[0] + ".csv" for row in rows[1:]}
    group2 = [n for n in os.listdir(os.path.join(out, "loss")) if n not in finished]
    assert len(group2) == 4
    for n in group2:
        lines = open(os.path.join(out, "loss", n)).read().splitlines()
        assert 2 <= len(lines) - 1 < STEPS // 16 + 1, (n, len(lines))  # some rows, not all
    assert_no_torn_files(out, ref)
    r = run(sweep_cmd(monolab, cfg, out, "--resume"))
    assert r.returncode == 0, r.stderr
    assert_same_as_reference(out, ref)


def test_most_timed_kills_landed_mid_sweep():
    """Runs after the kills above: a timed kill that came too late tested
    nothing but a plain run, so most of them must have landed."""
    assert len(TIMED_KILLS_LANDED) >= 5, f"only {len(TIMED_KILLS_LANDED)} of 8 timed kills landed mid-sweep"


LONG = CFG.replace("steps: 200", "steps: 2000").replace("checkpoints: log2", "checkpoints: final")


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_sigterm_sigint_stop_at_step_boundary_and_say_how_to_resume(monolab, tmp_path, sig, code):
    cfg = str(tmp_path / "long.yaml")
    with open(cfg, "w") as f:
        f.write(LONG)
    ref_out, out = str(tmp_path / "ref"), str(tmp_path / "out")
    r = run(sweep_cmd(monolab, cfg, ref_out))
    assert r.returncode == 0, r.stderr
    ref = outputs(ref_out)
    ref.pop(".monolab.lock")
    p = subprocess.Popen(sweep_cmd(monolab, cfg, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, cwd=str(tmp_path))
    csv_path = os.path.join(out, "runs.csv")
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for the first group's rows, then stop mid-group 2
        if os.path.exists(csv_path) and len(open(csv_path).read().splitlines()) > 1:
            break
        time.sleep(0.01)
    p.send_signal(sig)
    err = p.communicate(timeout=60)[1]
    assert p.returncode == code, (p.returncode, err)
    assert f"stopped by {sig.name} at a step boundary: 4 of 12 runs are finished and saved in {out}" in err
    assert_no_torn_files(out, ref)
    assert len(csv_rows(open(csv_path, "rb").read())) == 1 + 4  # group 1 flushed, group 2 discarded
    hint = [l for l in err.splitlines() if l.startswith("[monolab] continue with: ")][-1]
    argv = shlex.split(hint[len("[monolab] continue with: "):])
    assert argv[:2] == ["monolab", "sweep"] and argv[-1] == "--resume"
    r = run([monolab, *argv[1:]], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert_same_as_reference(out, ref)


def test_stop_message_starts_its_own_line_on_a_terminal(monolab, tmp_path):
    """On a terminal the live progress line has no newline; the stop message
    must not be glued to it, and a CPU machine's run says nothing about CUDA."""
    import pty
    cfg = str(tmp_path / "long.yaml")
    with open(cfg, "w") as f:
        f.write(LONG.replace("steps: 2000", "steps: 30000"))  # about a second a group: time to stop mid-group 2
    out = str(tmp_path / "out")
    master, slave = pty.openpty()
    # --device auto, the default: on a machine without CUDA it must not say so here
    p = subprocess.Popen([monolab, "sweep", cfg, "-o", out], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    got = b""
    csv_path = os.path.join(out, "runs.csv")
    deadline = time.time() + 120
    sent = False
    while True:
        if not sent and os.path.exists(csv_path) and len(open(csv_path).read().splitlines()) > 1 \
                and got.rsplit(b"\n", 1)[-1].count(b"runs 4/12"):
            p.send_signal(signal.SIGINT)  # the live line of group 2 is on screen
            sent = True
        if select.select([master], [], [], 0.01)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        assert time.time() < deadline, got[-500:]
    p.wait(timeout=60)
    os.close(master)
    assert sent and p.returncode == 130, got[-500:]
    text = got.decode()
    stop = [l for l in text.split("\n") if "stopped by SIGINT" in l]
    assert len(stop) == 1 and stop[0].startswith("[monolab] stopped by SIGINT"), repr(stop)
    assert "\r\x1b[K[monolab] runs 4/12" in text  # it was drawn live
    info = run([monolab, "info"]).stdout
    if "cuda backend: unavailable (" in info:  # this machine has none: only `info` says so
        assert "CUDA" not in text
    else:
        assert "no CUDA backend" not in text


def mount_tmpfs(path, opts):
    """CI runs as root, so a test can make its own small filesystem. If it
    cannot, the test fails and says why: a skipped check would read as a pass."""
    os.makedirs(path, exist_ok=True)
    r = run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path])
    if r.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for this test (needs root / CAP_SYS_ADMIN): {r.stderr.strip()}")


def umount(path):
    subprocess.run(["umount", "-l", path], check=False)


def fs_free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_full_disk_exits_2_keeps_everything_and_resumes(monolab, reference, tmp_path):
    cfg, ref, _ = reference
    mnt = str(tmp_path / "mnt")
    mount_tmpfs(mnt, "size=4m")
    try:
        out = os.path.join(mnt, "out")
        # tmpfs charges whole 4 KiB pages per file: the room a full sweep needs.
        need = sum((len(v) + 4095) // 4096 * 4096 for v in ref.values()) + 4096 * 8
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (fs_free(mnt) - need // 2))  # room for about half the sweep
        r = run(sweep_cmd(monolab, cfg, out))
        assert r.returncode == 2, r.stderr
        errs = [l for l in r.stderr.splitlines() if l.startswith("monolab:")]
        assert len(errs) == 1, r.stderr
        assert re.search(rf"'{re.escape(out)}/[^']+': No space left on device \(ENOSPC\)$", errs[0]), errs[0]
        assert " group 1/3 done" in r.stderr, "the disk must fill mid-sweep, not before it"
        assert_no_torn_files(out, ref)
        kept = outputs(out)
        assert not [n for n in kept if re.search(r"\.tmp\d+$", n)], "a failed write must remove its temp file"
        os.unlink(filler)
        r = run(sweep_cmd(monolab, cfg, out, "--resume"))
        assert r.returncode == 0, r.stderr
        assert_same_as_reference(out, ref)
    finally:
        umount(mnt)


def test_unwritable_output_folder_exits_2_before_training(monolab, reference, tmp_path):
    cfg = reference[0]
    mnt = str(tmp_path / "ro")
    mount_tmpfs(mnt, "size=1m")
    try:
        os.makedirs(os.path.join(mnt, "existing"))
        r = run(["mount", "-o", "remount,ro", mnt])
        assert r.returncode == 0, r.stderr
        for out, msg in [(os.path.join(mnt, "existing"), "cannot write into the output folder: cannot create"),
                         (os.path.join(mnt, "new", "out"), "cannot create directory")]:
            t0 = time.time()
            r = run(sweep_cmd(monolab, cfg, out))
            assert r.returncode == 2, r.stderr
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and msg in lines[0] and "Read-only file system (EROFS)" in lines[0], r.stderr
            assert time.time() - t0 < 10
    finally:
        umount(mnt)


def test_second_sweep_on_same_folder_is_refused(monolab, tmp_path):
    cfg = str(tmp_path / "endless.yaml")
    with open(cfg, "w") as f:  # long enough to outlast the checks on any machine; stopped below
        f.write(LONG.replace("steps: 2000", "steps: 20000000"))
    out = str(tmp_path / "out")
    first = subprocess.Popen(sweep_cmd(monolab, cfg, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(out, "config.yaml")) and time.time() < deadline:
        time.sleep(0.01)
    for extra in ([], ["--resume"]):
        r = run(sweep_cmd(monolab, cfg, out, *extra))
        assert r.returncode == 2, r.stderr
        assert (f"monolab: {out} is in use by another monolab command (pid {first.pid}, lock {out}/.monolab.lock); "
                "wait for it to finish, or pick another -o") in r.stderr
    assert first.poll() is None, "the check must run while the first sweep trains"
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=120)
    assert first.returncode == 143
    # The lock dies with its holder: anyone can take it now.
    with open(os.path.join(out, ".monolab.lock"), "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_readers_see_whole_rows_while_a_sweep_appends(monolab, tmp_path):
    """Many tiny groups, each appending to runs.csv, while a reader re-reads
    it as fast as it can: every read is whole rows (atomic replace)."""
    cfg = str(tmp_path / "many.yaml")
    with open(cfg, "w") as f:
        f.write(CFG.replace("k: [8, 12, 16]", "k: [" + ", ".join(str(k) for k in range(4, 16)) + "]")
                .replace("steps: 200", "steps: 8").replace("checkpoints: log2", "checkpoints: none"))
    out = str(tmp_path / "out")
    csv_path = os.path.join(out, "runs.csv")
    reads, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                with open(csv_path, "rb") as f:
                    reads.append(f.read())
            except FileNotFoundError:
                pass

    t = threading.Thread(target=reader)
    t.start()
    try:
        r = run(sweep_cmd(monolab, cfg, out))
    finally:
        stop.set()
        t.join()
    assert r.returncode == 0, r.stderr
    sizes = {len(csv_rows(data)) for data in reads if data}
    assert len(sizes) > 3, f"the reader must overlap the appends (saw row counts {sorted(sizes)})"


def test_thread_policy_adaptive_by_default_and_user_choice_respected(monolab):
    """By default OpenMP keeps libgomp's own wait and the CPU backend sheds
    threads while other processes share the cores (src/threads.c; the
    decisions are tested in tests/test_threads.c, the timings that chose
    this are in bench/RESULTS.md, "Shared machines"); never more threads
    than cores. A user's OMP_NUM_THREADS fixes the count, and a user's wait
    policy is applied as set. `monolab info` says which applies."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    policy = lambda r: re.search(r"(\d+) OpenMP threads \(([^)]*)\), wait policy (.*)$", r.stdout, re.M)
    r = run([monolab, "info"], env=env)
    assert r.returncode == 0, r.stderr
    m = policy(r)
    assert m and m.group(2) == "fewer while other processes share the cores", r.stdout
    assert m.group(3) == "libgomp default", r.stdout
    assert 1 <= int(m.group(1)) <= len(os.sched_getaffinity(0))
    m = policy(run([monolab, "info"], env=dict(env, OMP_NUM_THREADS="1")))
    assert m and m.group(1) == "1" and m.group(2) == "OMP_NUM_THREADS, fixed", m and m.group(0)
    for user, shown in (({"OMP_WAIT_POLICY": "active"}, "active"), ({"OMP_WAIT_POLICY": "PASSIVE"}, "PASSIVE"),
                        ({"GOMP_SPINCOUNT": "1000"}, "GOMP_SPINCOUNT=1000"),
                        ({"OMP_WAIT_POLICY": "passive", "GOMP_SPINCOUNT": "5"}, "passive,GOMP_SPINCOUNT=5")):
        m = policy(run([monolab, "info"], env=dict(env, **user)))
        assert m and m.group(3) == shown, (user, m and m.group(0))
        assert m.group(2) == "fixed while you set the wait policy", m.group(0)


# Lone models (G = 1) big enough to split their rows over every thread
# (two row blocks each, src/backend_cpu.c's blocks_per_model): the case
# where the split into blocks and the thread count differ. (Widths 256 and
# 384 were one block each once blocks came from the shape alone; their
# second thread then only spun at the barriers, and whether the gauge shed
# it depended on how much of that spinning the scheduler allowed.)
SHARED = """\
name: shared
seeds: 1
model: {N: 64, m: 16, k: [1024, 1536], bias_offset: 0.0}
data: {eps: 0.125}
train: {steps: 800, batch: 128, lr: 0.01}
eval: {batch: 128}
checkpoints: log2
"""


def test_sweep_next_to_busy_processes_is_identical(monolab, tmp_path):
    """Lone models big enough to use every thread (src/backend_cpu.c) run
    next to as many busy processes as there are cores, where the thread
    gauge sheds threads mid-run (it says so): the outputs must be the same
    bytes as alone (the split of the work is fixed; only how many threads
    share it changes; only `seconds` in runs.csv may differ)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    cfg = str(tmp_path / "shared.yaml")
    with open(cfg, "w") as f:
        f.write(SHARED)
    r = run(sweep_cmd(monolab, cfg, str(tmp_path / "alone")), env=env)
    assert r.returncode == 0, r.stderr
    cores = len(os.sched_getaffinity(0))
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(2, cores))]
    try:
        r = run(sweep_cmd(monolab, cfg, str(tmp_path / "shared")), env=env)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert r.returncode == 0, r.stderr
    assert "other processes share the cores: training on" in r.stderr, r.stderr
    ref = outputs(str(tmp_path / "alone"))
    ref.pop(".monolab.lock")
    assert_same_as_reference(str(tmp_path / "shared"), ref)
