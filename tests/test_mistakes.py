"""The mistakes a researcher makes on a first day, each with the default
--device (auto): one line on stderr naming the file, key or tensor, exit
code 2, and nothing already written lost or changed."""
import hashlib
import os

import numpy as np
import pytest

from conftest import ROOT, TINY, run

QUICKSTART = os.path.join(ROOT, "configs", "quickstart.yaml")


def one_line_2(r, msg):
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr  # no backend note before the error
    assert msg in lines[0], lines[0]


@pytest.mark.parametrize("over,msg", [
    (["model.k=abc"], "'model.k' must be an integer, got 'abc'"),
    (["seeds=-1"], "'seeds' must be a count >= 1 or a list of seeds, got '-1'"),
    (["train.stesp=8"], "unknown key 'train.stesp'"),
])
def test_bad_override_with_default_device(monolab, tmp_path, over, msg):
    r = run([monolab, "sweep", QUICKSTART, *over, "-o", str(tmp_path / "o")])
    one_line_2(r, msg)
    assert not os.path.exists(tmp_path / "o")


def test_config_typo_with_default_device(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY.replace("  steps: 64", "  stesp: 64"))
    r = run([monolab, "sweep", "cfg.yaml", "-o", "o"], cwd=tmp_path)
    one_line_2(r, "cfg.yaml:12: unknown key 'train.stesp' (known in train: steps,")


@pytest.mark.parametrize("cmd,arg,msg", [
    ("embed", "acts.safetensors", "acts.safetensors: cannot open: No such file or directory"),
    ("analyze", "ck.safetensors", "ck.safetensors: cannot open: No such file or directory"),
    ("plot", "sweep", "plot: sweep/runs.csv not found"),
    ("explore", "emb", "emb/neurons.csv: missing"),
    ("sweep", "cfg.yaml", "cannot open config 'cfg.yaml'"),
])
def test_missing_input_file(monolab, tmp_path, cmd, arg, msg):
    r = run([monolab, cmd, arg], cwd=tmp_path)
    one_line_2(r, msg)
    assert os.listdir(tmp_path) == []


def test_device_cuda_without_a_gpu(monolab, tmp_path):
    """--device cuda where no GPU (or no CUDA backend) is: refused in one
    line before anything is written; --device auto trains on the CPU
    without a word about CUDA (only `monolab info` and --device cuda say why)."""
    probe = run([monolab, "info"])
    if "cuda backend: unavailable" not in probe.stdout:
        pytest.skip("a CUDA device is usable here: " + probe.stdout.strip().splitlines()[-1])
    (tmp_path / "cfg.yaml").write_text(TINY)
    r = run([monolab, "sweep", "cfg.yaml", "-o", "o", "--device", "cuda"], cwd=tmp_path)
    one_line_2(r, "--device cuda: ")
    assert os.listdir(tmp_path) == ["cfg.yaml"]
    r = run([monolab, "sweep", "cfg.yaml", "-o", "o", "--device", "auto", "seeds=1", "model.k=8"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "on the cpu backend" in r.stderr and "CUDA" not in r.stderr


def digest(folder):
    # .monolab.lock holds the pid of the last command that ran there, not output
    return {n: hashlib.sha256(open(os.path.join(folder, n), "rb").read()).hexdigest() for n in os.listdir(folder)
            if n != ".monolab.lock"}


def test_embed_refuses_a_folder_of_another_input_or_settings(monolab, tmp_path):
    """Every run's final checkpoint is step_NNNNNN.safetensors: the default
    OUTDIR carries the run id, and an OUTDIR holding another checkpoint's or
    other settings' output is refused with its contents unchanged; the same
    input and settings rebuild it."""
    (tmp_path / "cfg.yaml").write_text(TINY)
    r = run([monolab, "sweep", "cfg.yaml", "-o", "s", "--device", "cpu"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    a, b = "s/ckpt/r000000/step_000064.safetensors", "s/ckpt/r000001/step_000064.safetensors"
    for ck in (a, b):
        r = run([monolab, "embed", ck, "--samples", "256"], cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    out = tmp_path / "runs" / "embed_r000000_step_000064"
    assert sorted(os.listdir(tmp_path / "runs")) == ["embed_r000000_step_000064", "embed_r000001_step_000064"]
    settings = (out / "embed_settings.txt").read_text()
    assert f"input={tmp_path / a}\n" in settings and "threshold=0.5\n" in settings
    before = digest(out)
    r = run([monolab, "embed", b, "--samples", "256", "-o", str(out)], cwd=tmp_path)
    one_line_2(r, f"{out} holds the embed output of another input or other settings "
                  f"(there input={tmp_path / a}, here input={tmp_path / b})")
    r = run([monolab, "embed", a, "--samples", "256", "-o", str(out), "--threshold", "0.4"], cwd=tmp_path)
    one_line_2(r, "(there threshold=0.5, here threshold=0.4); pass -o " + f"{out}_2 or remove that folder")
    assert digest(out) == before
    # the default folder taken by other settings: a fresh suffix, said on stderr
    r = run([monolab, "embed", a, "--samples", "256", "--threshold", "0.4"], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "runs/embed_r000000_step_000064 holds the embedding of another input or other settings: writing to " \
           "runs/embed_r000000_step_000064_2" in r.stderr
    assert "threshold=0.4\n" in (tmp_path / "runs" / "embed_r000000_step_000064_2" / "embed_settings.txt").read_text()
    assert digest(out) == before
    r = run([monolab, "embed", a, "--samples", "256", "-o", str(out)], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert digest(out) == before  # same input, same settings: the same bytes again
    os.remove(out / "embed_settings.txt")  # an output that does not say what made it
    r = run([monolab, "embed", a, "--samples", "256", "-o", str(out)], cwd=tmp_path)
    one_line_2(r, "does not say what it was made from")


def test_readme_safetensors_loader_reads_every_output(monolab, tmp_path):
    """README.md's load_safetensors (run as printed) on a checkpoint and on
    embed's F64 and I64 tensors agrees with the repository's own reader."""
    from stio import load
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = text.split("## Outputs", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    loader = block[block.index("DTYPES = "):block.index("ckpt = ")]
    ns = {}
    exec("import json, struct\nimport numpy as np\n" + loader, ns)
    (tmp_path / "cfg.yaml").write_text(TINY)
    assert run([monolab, "sweep", "cfg.yaml", "-o", "s", "--device", "cpu"], cwd=tmp_path).returncode == 0
    ck = str(tmp_path / "s/ckpt/r000000/step_000064.safetensors")
    r = run([monolab, "embed", ck, "-o", str(tmp_path / "e"), "--samples", "256", "--device", "cpu"])
    assert r.returncode == 0, r.stderr
    for f in (ck, tmp_path / "e/linkage.safetensors", tmp_path / "e/similar.safetensors"):
        got, want = ns["load_safetensors"](str(f)), load(str(f))[0]
        assert sorted(got) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k], equal_nan=True), (f, k)
