"""`monolab explore` shows exactly the inputs `monolab embed` worked on.

Explore rebuilds a toy layer from embed_settings.txt (the probe, the number
of samples and the seed that embed used), so after `embed --probe single`
every example on the explorer's pages has exactly one active feature, after
`--probe pair` exactly two, and the features the pages show attribute to
the same input-based feature counts that embed wrote into neurons.csv.
Before, explore re-drew the inputs from the training distribution and
showed 1 to 10 features per example."""
import csv
import os

import numpy as np
import pytest

import site_data
from conftest import BUILD, run, run_id, ok
from stio import load

CFG = ("seeds: 1\nmodel:\n  N: 32\n  m: 8\n  k: 24\ndata:\n  eps: 0.125\n"
       "train:\n  steps: 200\n  batch: 64\n  lr: 0.01\neval:\n  batch: 64\ncheckpoints: final\n")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    monolab = os.path.join(BUILD, "monolab")
    d = tmp_path_factory.mktemp("probe")
    (d / "t.yaml").write_text(CFG)
    ok(run([monolab, "sweep", str(d / "t.yaml"), "-o", str(d / "s"), "--device", "cpu"]))
    return d, d / "s/ckpt" / run_id(d / "s") / "step_000200.safetensors"


def pages(site):
    """{neuron: (stats, [(row, act, {feature: value})])}: the examples each
    neuron's page shows (at most 20 per cluster)."""
    out = {}
    for j, obj in site_data.neurons(site).items():
        ex = []
        for cl in obj["clusters"]:
            for e in cl["ex"]:
                ex.append((e["row"], e["act"], {f: v for f, v in e["f"]}))
        out[j] = (obj["stats"], ex)
    return out


def input_counts(S, examples):
    """embed's input-based truth (src/toy_truth.c): per example, the feature of
    largest positive v * S[j]; count the distinct ones."""
    seen = set()
    for _, _, f in examples:
        best = max(f, key=lambda i: f[i] * S[i])
        if f[best] * S[best] > 0:
            seen.add(best)
    return len(seen)


@pytest.mark.parametrize("probe,active", [("single", 1), ("pair", 2)])
def test_explorer_shows_embeds_probe_inputs(monolab, ckpt, probe, active):
    d, ck = ckpt
    e, site = d / f"e_{probe}", d / f"site_{probe}"
    ok(run([monolab, "embed", str(ck), "-o", str(e), "--samples", "600", "--probe", probe, "--device", "cpu"]))
    ok(run([monolab, "explore", str(e), "-o", str(site)]))
    t, _ = load(str(ck))
    S = np.maximum(t["W1"].astype(np.float64) @ t["P"] + t["b1"][:, None], 0)  # ReLU single-feature activations
    neurons = {int(r["neuron"]): r for r in csv.DictReader(open(e / "neurons.csv"))}
    rows = {}
    for r in csv.DictReader(open(e / "examples.csv")):
        rows.setdefault(int(r["neuron"]), []).append(int(r["token"]))
    shown = pages(site)
    assert sorted(shown) == sorted(neurons)
    n_examples = n_whole = 0
    for j, (stats, ex) in shown.items():
        assert all(len(f) == active for _, _, f in ex), (j, [f for _, _, f in ex])
        assert set(r for r, _, _ in ex) <= set(rows.get(j, [])), j  # the page's examples are embed's
        n_examples += len(ex)
        if ex and len(ex) == len(rows[j]):  # every example shown: the same truth as embed's
            n_whole += 1
            assert input_counts(S[j], ex) == int(neurons[j]["input_features"]), j
    assert n_examples > 50 and n_whole > 3
