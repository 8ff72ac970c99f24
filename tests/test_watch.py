"""`monolab watch OUTDIR`: the loss curves of a running sweep in the
terminal, from the live loss logs; it follows a sweep to its end."""
import os
import re
import signal
import subprocess

from conftest import TINY, run

CPU = ["--device", "cpu"]


def test_watch_shows_a_group_that_is_still_training(monolab, tmp_path):
    """A sweep stopped in the middle of its second group looks, on disk,
    like one still training: 4 runs done, 4 with partial loss logs."""
    (tmp_path / "cfg.yaml").write_text(TINY)
    env = dict(os.environ, MONOLAB_LIVE_LOG_S="0", MONOLAB_TEST_KILL_AT="step:100")  # group 2, step 36
    r = run([monolab, "sweep", "cfg.yaml", "-o", "out", *CPU], cwd=tmp_path, env=env)
    assert r.returncode == -signal.SIGKILL, r.stderr
    r = run([monolab, "watch", "out", "--once"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "sweep 'tiny' in out: 4 of 8 runs done, 4 with a loss log but no result yet (training, or " \
        "stopped mid-group)"
    runs = [l for l in lines if re.match(r"r[0-9a-f]{12} ", l)]
    assert len(runs) == 8
    live, done = runs[:4], runs[4:]  # the training runs first
    assert all(" live  step " in l and " k=16 " in l for l in live), live
    assert all(" done  step     48/64 " in l and " k=8 " in l for l in done), done
    for l in live:
        step = int(re.search(r"step +(\d+)/64", l).group(1))
        assert 16 <= step < 48  # a partial log
        curve = re.search(r"loss \S+ +(\S+)", l).group(1)
        assert 2 <= len(curve) <= 40 and set(curve) <= set("▁▂▃▄▅▆▇█")
        assert re.search(r"bias_offset=(0|-1) seed=[01]$|seed=[01] .*bias_offset", l), l


def test_watch_follows_a_sweep_to_its_end(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY.replace("steps: 64", "steps: 600"))
    sweep = subprocess.Popen([monolab, "sweep", "cfg.yaml", "-o", "out", *CPU], cwd=tmp_path,
                             stderr=subprocess.DEVNULL, env=dict(os.environ, MONOLAB_LIVE_LOG_S="0"))
    try:
        while not (tmp_path / "out" / "config.yaml").exists():
            assert sweep.poll() is None
        r = run([monolab, "watch", "out", "--every", "0.1"], cwd=tmp_path, timeout=300)
    finally:
        sweep.wait()
    assert r.returncode == 0, r.stderr
    frames = [l for l in r.stdout.splitlines() if l.startswith("sweep 'tiny'")]
    assert frames[-1].startswith("sweep 'tiny' in out: 8 of 8 runs done, 0 with a loss log")
    assert sweep.returncode == 0


def test_watch_a_folder_that_is_not_a_sweep(monolab, tmp_path):
    r = run([monolab, "watch", str(tmp_path)])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f"watch: {tmp_path}/config.yaml not found" in r.stderr
    r = run([monolab, "watch", str(tmp_path), "--every", "0"])
    assert r.returncode == 2 and "--every" in r.stderr
