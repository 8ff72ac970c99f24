"""The Python package (python/monolab) on real folders written by the
binary: typed runs.csv, checkpoints, loss logs, embed folders, launching
commands, a metric over every checkpoint, and the example notebook."""
import csv
import os
import struct
import json

import numpy as np
import pytest

from conftest import ROOT, TINY

import monolab  # python/ is on the path (conftest.py), as `pip install -e python` puts it


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("pkg")
    (d / "tiny.yaml").write_text(TINY)
    return monolab.sweep(d / "tiny.yaml", {"train.lr": [0.01, 0.03]}, outdir=d / "out", device="cpu", progress=False)


def test_runs_are_typed(tiny):
    runs = tiny.runs
    text = list(csv.DictReader(open(tiny.path / "runs.csv")))
    assert len(runs) == len(text) == 2 * 2 * 2 * 2
    assert [c for c in runs.columns if runs[c].dtype == object] == ["run_id"]
    assert runs.k.dtype == np.int64 and runs.diverged.dtype == np.int64 and runs.lr.dtype == np.float64
    assert runs.task.dtype == "category" and list(runs.task.cat.categories) == ["decoder"]
    assert sorted(runs.lr.unique()) == [0.01, 0.03]
    assert [float(r["eval_loss"]) for r in text] == list(runs.eval_loss)
    assert tiny.config["model"]["N"] == 16


def test_checkpoints_and_metric_over_every_one(tiny):
    run_id = tiny.runs.run_id[3]
    assert tiny.checkpoint_steps(run_id) == [0, 1, 2, 4, 8, 16, 32, 64]
    ck = tiny.checkpoint(run_id)
    row = tiny.runs.iloc[3]
    assert ck.step == 64 and ck.meta["lr"] == row.lr and ck.meta["k"] == row.k
    assert ck["W1"].shape == (row.k, row.m) and ck["W1"].dtype == np.float32 and ck["P"].shape == (row.m, row.N)
    import torch
    tt = tiny.checkpoint(run_id, step=8, torch=True)
    assert isinstance(tt["b1"], torch.Tensor) and np.array_equal(tt["b1"].numpy(), tiny.checkpoint(run_id, 8)["b1"])

    def frac_negative_bias(c):
        return float((c["b1"] < 0).mean())

    df = tiny.map_checkpoints(frac_negative_bias)
    assert len(df) == 16 * 8 and set(df.step) == {0, 1, 2, 4, 8, 16, 32, 64}
    mine = df[(df.run_id == run_id) & (df.step == 64)].frac_negative_bias.item()
    assert mine == float((ck["b1"] < 0).mean())
    assert {"k", "lr", "mono_per_feature"} <= set(df.columns)  # joined with runs.csv
    final = tiny.map_checkpoints(lambda c: {"w1": float(np.abs(c["W1"]).sum())}, final_only=True)
    assert len(final) == 16 and set(final.step) == {64}


def test_loss_logs(tiny):
    one = tiny.loss(tiny.runs.run_id[0])
    assert list(one.columns) == ["step", "loss", "lr"] and one.step.dtype == np.int64 and one.step.iloc[0] == 0
    every = tiny.losses()
    assert set(every.run_id) == set(tiny.runs.run_id) and len(every) == 16 * len(one)


def test_bf16_widened(tmp_path):
    vals = np.array([1.0, -2.5, 3.140625], dtype=np.float32)
    raw = (vals.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    h = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, len(raw)]}}).encode()
    (tmp_path / "b.safetensors").write_bytes(struct.pack("<Q", len(h)) + h + raw)
    t, meta = monolab.load_safetensors(tmp_path / "b.safetensors")
    assert t["x"].dtype == np.float32 and list(t["x"]) == [1.0, -2.5, 3.140625] and meta == {}


def test_embed_from_python(tiny, tmp_path):
    ck = tiny.checkpoint(tiny.runs.run_id[0])  # bias offset 0: live neurons with examples
    emb = monolab.embed(ck.path, outdir=tmp_path / "emb", similar=0, progress=False)
    assert len(emb.neurons) == ck.meta["k"] and emb.neurons.n_clusters.dtype == np.int64
    assert emb.settings["similar"] == 0 and emb.summary["dead_neurons"] >= 0
    j = int(emb.neurons.neuron[emb.neurons.n_examples > 1].iloc[0])
    assert emb.linkage(j).shape == (emb.neurons.n_examples[j] - 1, 4)
    assert set(emb.examples.neuron) <= set(emb.neurons.neuron) and len(emb.clusters) > 0


def test_launch_errors_carry_the_binary_message(tmp_path):
    (tmp_path / "bad.yaml").write_text("model:\n  witdh: 3\n")
    with pytest.raises(monolab.MonolabError) as e:
        monolab.sweep(tmp_path / "bad.yaml", outdir=tmp_path / "o", progress=False)
    assert e.value.returncode == 2 and "witdh" in str(e.value)
    with pytest.raises(FileNotFoundError, match="not a monolab sweep folder|monolab sweep folder"):
        monolab.load_sweep(tmp_path)


def test_example_notebook_runs(tmp_path):
    """examples/sweep_from_python.ipynb executes top to bottom (its cells assert what they show)."""
    import nbclient
    import nbformat
    nb = nbformat.read(os.path.join(ROOT, "examples", "sweep_from_python.ipynb"), as_version=4)
    # the kernel inherits the path; the package finds this checkout's build/monolab itself
    env = {"PYTHONPATH": os.pathsep.join([os.path.join(ROOT, "python"), os.environ.get("PYTHONPATH", "")])}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert (tmp_path / "runs" / "question" / "figures" / "mono_vs_l1.png").exists()
    assert len(list((tmp_path / "runs" / "question" / "ckpt").iterdir())) == 16
