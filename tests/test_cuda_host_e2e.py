"""End to end on the CPU execution layer: build/emu/monolab-emu is monolab
with the CUDA backend's real sources run by tests/cuda_host, so
`--device cuda` there executes kernels/*.cu. A sweep and an embed on the
emulated device must give what `--device cpu` gives:

- sweep, fp32, kernel variants ref and fast: runs.csv (every column but
  `seconds`), every checkpoint and every loss log, byte for byte. The twins
  share every element-wise formula and reduction order, and on this layer
  the GEMMs are OpenBLAS's on both sides, so nothing may differ;
- sweep, tf32: the emulated cuBLAS rounds GEMM inputs to TF32 and the CPU
  backend does not, so the losses differ slightly; the run ids, settings
  and the dead-neuron counts must not, and losses stay within 1e-2;
- embed: selections, examples, cluster counts and partitions identical
  (the canonical selection rule); distances and merge heights within 1e-6,
  because the CUDA twin sums the Gram matrices in a different shape.
"""
import csv
import math
import os
import subprocess

import numpy as np
import pytest

from conftest import BUILD, ROOT, TINY, run_id
from stio import load as st_load

EMU = os.path.join(BUILD, "emu", "monolab-emu")
SWEEP = TINY.replace("steps: 64", "steps: 48")


@pytest.fixture(scope="module")
def emu():
    assert os.path.exists(EMU), f"{EMU} is missing: `make test` builds it (`make emu`)"
    return EMU


def sweep(binary, cfg, out, device, env_extra=None, overrides=()):
    env = dict(os.environ, **(env_extra or {}))
    r = subprocess.run([binary, "sweep", cfg, *overrides, "--device", device, "-o", out], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r


def rows(path):
    with open(os.path.join(path, "runs.csv")) as f:
        return list(csv.DictReader(f))


def files(path):
    out = {}
    for d, _, fs in os.walk(path):
        for f in fs:
            rel = os.path.relpath(os.path.join(d, f), path)
            if rel not in ("runs.csv", ".monolab.lock"):
                out[rel] = open(os.path.join(d, f), "rb").read()
    return out


@pytest.mark.parametrize("kernels", ["ref", "fast"])
def test_sweep_fp32_bit_identical(emu, tmp_path, kernels):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SWEEP)
    ov = ["train.precision=fp32"]
    sweep(emu, str(cfg), str(tmp_path / "cpu"), "cpu", overrides=ov)
    r = sweep(emu, str(cfg), str(tmp_path / "cuda"), "cuda", {"MONOLAB_KERNELS": kernels}, ov)
    assert "cuda group" in r.stderr  # the emulated CUDA backend really ran
    a, b = rows(tmp_path / "cpu"), rows(tmp_path / "cuda")
    assert len(a) == len(b) == 8
    for x, y in zip(a, b):
        x.pop("seconds"), y.pop("seconds")
        assert x == y
    fa, fb = files(tmp_path / "cpu"), files(tmp_path / "cuda")
    assert sorted(fa) == sorted(fb) and any(k.startswith("ckpt") for k in fa) and any(k.startswith("loss") for k in fa)
    for k in fa:
        assert fa[k] == fb[k], f"{k} differs between --device cpu and the emulated --device cuda ({kernels})"


def test_sweep_tf32_close(emu, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SWEEP)
    ov = ["train.precision=tf32"]
    sweep(emu, str(cfg), str(tmp_path / "cpu"), "cpu", overrides=ov)
    sweep(emu, str(cfg), str(tmp_path / "cuda"), "cuda", overrides=ov)
    a, b = rows(tmp_path / "cpu"), rows(tmp_path / "cuda")
    differ = 0
    for x, y in zip(a, b):
        for col in ("run_id", "seed", "k", "bias_offset", "precision", "diverged"):
            assert x[col] == y[col]
        for col in ("final_loss", "eval_loss"):
            u, v = float(x[col]), float(y[col])
            assert abs(u - v) <= 1e-2 * abs(u), (col, u, v)
            differ += u != v
    assert differ > 0, "TF32 rounding changed no loss: the emulated cuBLAS did not round its inputs"


def test_embed_twins(emu, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SWEEP.replace("steps: 48", "steps: 600").replace("k: [8, 16]", "k: [16]")
                   .replace("bias_offset: [0.0, -1.0]", "bias_offset: [0.0]").replace("seeds: 2", "seeds: 1"))
    sweep(os.path.join(BUILD, "monolab"), str(cfg), str(tmp_path / "s"), "cpu", overrides=["train.precision=fp32"])
    ck = sorted((tmp_path / "s" / "ckpt" / run_id(tmp_path / "s")).iterdir())[-1]
    outs = {}
    for dev in ("cpu", "cuda"):
        out = tmp_path / f"e_{dev}"
        r = subprocess.run([emu, "embed", str(ck), "--device", dev, "-o", str(out)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        outs[dev] = out
    for name in ("examples.csv", "clusters.csv", "similar.safetensors", "embed_settings.txt"):
        assert (outs["cpu"] / name).read_bytes() == (outs["cuda"] / name).read_bytes(), name
    with open(outs["cpu"] / "neurons.csv") as f:
        a = list(csv.DictReader(f))
    with open(outs["cuda"] / "neurons.csv") as f:
        b = list(csv.DictReader(f))
    assert len(a) == len(b) == 16 and sum(int(x["n_examples"]) > 0 for x in a) > 8
    for x, y in zip(a, b):
        for col in ("neuron", "n_examples", "n_clusters", "true_features", "input_features"):
            assert x[col] == y[col], (col, x, y)
        for col in ("max_dist", "mean_dist", "mean_intra", "mean_inter"):
            u, v = float(x[col]), float(y[col])
            assert (math.isnan(u) and math.isnan(v)) or abs(u - v) <= 1e-6, (col, u, v)
    la, lb = (st_load(str(outs[d] / "linkage.safetensors"))[0] for d in ("cpu", "cuda"))
    assert sorted(la) == sorted(lb)
    for k in la:
        x, y = np.asarray(la[k]), np.asarray(lb[k])
        assert x.shape == y.shape and np.allclose(x, y, rtol=0, atol=1e-6, equal_nan=True), k
