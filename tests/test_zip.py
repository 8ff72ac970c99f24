"""Linked axes: `zip` pairs the values of keys that vary together (with and
without the bias intervention is two settings, not a 2x2 grid)."""
import csv

import pytest

from conftest import TINY, run

# TINY's bias_offset [0.0, -1.0] paired with decay [0.0, 1.0].
ZIPPED = TINY.replace("seeds: 2\n", "seeds: 2\nzip: [[model.bias_offset, train.decay]]\n").replace(
    "  lr: 0.01\n", "  lr: 0.01\n  decay: [0.0, 1.0]\n")


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_zipped_axes_train_only_the_pairs(monolab, tmp_path):
    (tmp_path / "z.yaml").write_text(ZIPPED)
    r = run([monolab, "sweep", "z.yaml", "-o", "out", "--device", "cpu"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = rows(tmp_path / "out" / "runs.csv")
    assert len(got) == 2 * 2 * 2  # k x (bias_offset, decay) x seeds, not x 2 more
    pairs = {(float(x["bias_offset"]), float(x["decay"])) for x in got}
    assert pairs == {(0.0, 0.0), (-1.0, 1.0)}
    assert {(x["k"], x["seed"]) for x in got} == {(k, s) for k in ("8", "16") for s in ("0", "1")}
    # the resolved config keeps the zip, so --resume of the same config finds every run done
    assert "zip: [[model.bias_offset, train.decay]]\n" in (tmp_path / "out" / "config.yaml").read_text()
    r = run([monolab, "sweep", "z.yaml", "-o", "out", "--device", "cpu", "--resume"], cwd=tmp_path)
    assert r.returncode == 0 and "8 of 8 runs already" in r.stderr, r.stderr


def test_dry_run_shows_the_axes(monolab, tmp_path):
    (tmp_path / "z.yaml").write_text(ZIPPED)
    r = run([monolab, "sweep", "z.yaml", "--dry-run", "--device", "cpu"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "8 runs in 2 groups; axes model.k (2) x [model.bias_offset, train.decay] zipped (2) x seeds (2)" \
        in r.stderr
    plan = list(csv.DictReader(r.stdout.splitlines()))
    assert sum(int(g["models"]) for g in plan) == 8
    (tmp_path / "g.yaml").write_text(TINY)  # without zip: every key its own axis
    r = run([monolab, "sweep", "g.yaml", "--dry-run", "--device", "cpu"], cwd=tmp_path)
    assert "axes model.k (2) x model.bias_offset (2) x seeds (2)" in r.stderr, r.stderr


def test_a_config_without_zip_resolves_as_before(monolab, tmp_path):
    """Folders written before `zip` existed must resume: no zip line then."""
    (tmp_path / "g.yaml").write_text(TINY)
    r = run([monolab, "sweep", "g.yaml", "-o", "out", "--device", "cpu"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "zip" not in (tmp_path / "out" / "config.yaml").read_text()


def test_unequal_zip_in_the_file_names_its_line(monolab, tmp_path):
    (tmp_path / "z.yaml").write_text(ZIPPED.replace("decay: [0.0, 1.0]", "decay: [0.0, 1.0, 2.0]"))
    r = run([monolab, "sweep", "z.yaml", "-o", "out"], cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().endswith(
        "z.yaml:16: zipped keys must list equally many values: 'model.bias_offset' lists 2 values, "
        "'train.decay' lists 3"), r.stderr


@pytest.mark.parametrize("over,msg", [
    ("train.decay=[0.0,1.0,2.0]", "command-line override: zipped keys must list equally many values: 'model.bias_offset' lists "
     "2 values, 'train.decay' lists 3"),
    ("train.decay=0.5", "zipped keys must list equally many values: 'model.bias_offset' lists 2 values, "
     "'train.decay' is one value"),
    ("zip=[[model.bias_offset,train.dcay]]", "command-line override: 'zip' names an unknown key 'train.dcay'; "
     "did you mean 'train.decay'?"),
    ("zip=[[model.bias_offset,train.decay],[train.decay,model.k]]", "'train.decay' is in two zip groups"),
    ("zip=[[model.bias_offset,model.bias_offset]]", "'model.bias_offset' is in two zip groups (or twice in one)"),
    ("zip=[[model.bias_offset]]", "each entry of 'zip' must list two or more keys"),
    ("zip=[[seeds,model.k]]", "'seeds' cannot be zipped"),
    ("zip=model.k", "'zip' must be a list of key lists"),
])
def test_bad_zip_exits_2_naming_the_key(monolab, tmp_path, over, msg):
    (tmp_path / "z.yaml").write_text(ZIPPED)
    r = run([monolab, "sweep", "z.yaml", over, "-o", "out"], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()
