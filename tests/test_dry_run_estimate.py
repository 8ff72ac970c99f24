"""--dry-run's wall-time estimate: the plan's FLOP at the rate the device
measured last, cached in the user's cache folder (a short calibration the
first time; every sweep of a second or more records what it achieved)."""
import os
import re

from conftest import ROOT, run

QUICKSTART = os.path.join(ROOT, "configs", "quickstart.yaml")
EST = re.compile(r"estimated wall time: (\d+):(\d\d):(\d\d) \(h:mm:ss\) on the cpu backend at ([0-9.e+]+) GFLOP/s, "
                 r"the rate it measured last \((.*), (\d{4}-\d\d-\d\d \d\d:\d\d UTC)\)")


def dry_run(monolab, cache, cfg=QUICKSTART, **env):
    e = dict(os.environ, XDG_CACHE_HOME=str(cache), **env)
    r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"], env=e)
    assert r.returncode == 0, r.stderr
    m = EST.search(r.stderr)
    assert m, r.stderr
    seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    tflop = float(re.search(r"total: ([0-9.]+) TFLOP of training", r.stderr).group(1))
    return r, seconds, tflop, float(m.group(4)) * 1e9, m.group(5)


def test_first_dry_run_calibrates_and_caches_the_rate(monolab, tmp_path):
    r, secs, tflop, rate, how = dry_run(monolab, tmp_path)
    assert "no training rate measured on this device yet: calibrating" in r.stderr
    assert how.startswith("calibration: ") and "N=64 m=16 k=256" in how  # the costliest group of the plan
    assert abs(secs - tflop * 1e12 / rate) <= 1 + 0.01 * secs  # the printed rate is rounded to 3 digits
    files = os.listdir(tmp_path / "monolab")
    assert len(files) == 1 and re.fullmatch(r"rate-[0-9a-f]{16}\.txt", files[0])  # no temporary file left
    text = (tmp_path / "monolab" / files[0]).read_text()
    assert text.startswith("backend: cpu\ndevice: ") and "\nthreads: " in text and "\nflops_per_s: " in text
    # the second time: the cached rate, no calibration
    r2, secs2, _, rate2, how2 = dry_run(monolab, tmp_path)
    assert "calibrating" not in r2.stderr and (rate2, how2, secs2) == (rate, how, secs)


def test_a_sweep_records_the_rate_it_achieved(monolab, tmp_path):
    # 8 runs of the quickstart's k=128 group: 0.1 TFLOP, seconds on 2 cores (the rate is recorded from 1 s)
    over = ["seeds=2", "model.k=[128]", "checkpoints=none"]
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = run([monolab, "sweep", QUICKSTART, *over, "-o", str(tmp_path / "out"), "--device", "cpu"], env=env)
    assert r.returncode == 0, r.stderr
    secs = float(re.search(r"\[monolab\] 8 runs in ([0-9.]+) s", r.stderr).group(1))
    assert secs >= 1.0, "the test needs a sweep of a second or more"
    r = run([monolab, "sweep", QUICKSTART, *over, "--dry-run", "--device", "cpu"], env=env)
    assert r.returncode == 0 and "calibrating" not in r.stderr, r.stderr
    how = EST.search(r.stderr).group(5)
    assert re.fullmatch(r"a sweep of 8 runs, [0-9.e+-]+ TFLOP in \d+ s", how), how


def test_no_usable_cache_folder_still_estimates(monolab, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the cache folder should be: it cannot be made
    r, secs, _, _, how = dry_run(monolab, blocker)
    assert how.startswith("calibration: ") and "could not record the training rate" in r.stderr
    e = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "HOME")}
    r = run([monolab, "sweep", QUICKSTART, "--dry-run", "--device", "cpu"], env=e)
    assert r.returncode == 0 and EST.search(r.stderr), r.stderr


def test_calibrating_on_a_paper_sized_group_takes_about_a_second(monolab, tmp_path):
    """The paper's groups are ~1 TFLOP a step (N=512, k=1024, batch 8192, 33
    models): the calibration trains one model at a smaller batch, not the
    group (which took minutes and 5 GB on 2 cores)."""
    cfg = os.path.join(ROOT, "configs", "jermyn2022", "B1.yaml")
    e = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"], env=e, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "calibrating" in r.stderr
    how = EST.search(r.stderr).group(5)
    m = re.fullmatch(r"calibration: (\d+) steps of (\d+) models, N=512 m=64 k=1024 batch (\d+)", how)
    assert m, how
    steps, models, batch = map(int, m.groups())
    assert steps >= 40 and models == 1 and 64 <= batch < 8192
    assert 2.0 * steps * models * batch * 1024 * (2 * 64 + 3 * 512) <= 3.1e10  # the CPU's work budget
