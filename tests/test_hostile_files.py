"""Hostile or careless file system conditions (issue: no injection, no
clobbering): inputs that are FIFOs, devices or huge are refused at once,
naming the file; a lock planted as a symlink is not written through; an
output folder that is the filesystem root or the home folder is refused.
Each exits 2 with one line, before anything is written."""
import os
import time

from conftest import TINY, run


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len([l for l in lines if l.startswith("monolab: ")]) == 1, r.stderr
    return lines[-1]


def test_config_that_is_a_device_fifo_or_huge(monolab, tmp_path):
    fifo = tmp_path / "c.yaml"
    os.mkfifo(fifo)  # no writer: opening it for reading would block for ever
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(2 << 30)  # sparse: 2 GB of nothing
    for path, why in (("/dev/zero", "not a regular file (a device)"), (str(fifo), "not a regular file (a FIFO)"),
                      (str(big), "2147483648 bytes is more than the 16777216")):
        t0 = time.time()
        r = run([monolab, "sweep", path, "--dry-run"], timeout=20)
        assert why in one_line(r) and path in r.stderr
        assert time.time() - t0 < 5, "refused before reading"


def test_runs_csv_linked_to_a_device(monolab, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink("/dev/zero", out / "runs.csv")
    r = run([monolab, "plot", str(out)], timeout=20)
    assert "runs.csv: not a regular file (a device)" in one_line(r)
    r = run([monolab, "sweep", str(cfg), "-o", str(out), "--resume", "--device", "cpu"], timeout=20)
    assert "runs.csv: not a regular file (a device)" in one_line(r)


def test_planted_lock_symlink_is_not_followed(monolab, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY)
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(precious, out / ".monolab.lock")
    r = run([monolab, "sweep", str(cfg), "-o", str(out), "--device", "cpu"])
    assert f"{out}/.monolab.lock is a symbolic link" in one_line(r)
    assert precious.read_text() == "keep me\n"
    assert sorted(os.listdir(out)) == [".monolab.lock"], "nothing written"


def test_output_folder_root_or_home_is_refused(monolab, tmp_path):
    cfg = tmp_path / "t.yaml"
    cfg.write_text(TINY)
    r = run([monolab, "sweep", str(cfg), "-o", "/", "--device", "cpu"])
    assert "-o / is the filesystem root" in one_line(r)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home))
    for o in (str(home), str(home) + "/", str(home) + "/."):
        r = run([monolab, "sweep", str(cfg), "-o", o, "--device", "cpu"], env=env)
        assert f"is the home folder {home}" in one_line(r)
    assert os.listdir(home) == [], "nothing written"
