"""`monolab embed` on a hand-built toy model with known polysemantic neurons
(docs/science.md §3): the probe distributions, both ground truths, the
J22 classes and the agreement statistics of summary.json.

P is the identity (m = N = 6), so feature i enters along e_i and a neuron's
responses are its weights:
  n0: w = e0                      monosemantic, 1 feature
  n1: w = e1 + e2                 2 features
  n2: w = e3 + e4 + 0.15 e5       3 features by the weight truth at 0.1, 2 at 0.2;
                                  feature 5 alone never reaches 0.75 of the max,
                                  so it drives no selected example
  n3: w = -(e0 + ... + e5)        dead
  n4: w = e0 + e1, b = -1.2       dead by J22 (no lone feature turns it on), yet
                                  two features together do: a combination neuron
"""
import csv
import json
import os
import tempfile

import numpy as np
import pytest
from scipy.stats import spearmanr

from conftest import run
from stio import save

META = {"task": "decoder", "activation": "relu", "sampling": "uniform", "eps": "0.25", "seed": "3",
        "run_id": "hand"}
N = 6


def hand_model():
    W1 = np.zeros((5, N), np.float32)
    W1[0, 0] = 1
    W1[1, [1, 2]] = 1
    W1[2, [3, 4, 5]] = [1, 1, 0.15]
    W1[3] = -1
    W1[4, [0, 1]] = 1
    b1 = np.array([0, 0, 0, 0, -1.2], np.float32)
    return {"W1": W1, "b1": b1, "W2": np.ones((N, 5), np.float32), "P": np.eye(N, dtype=np.float32)}


def embed(monolab, d, *args):
    ck = os.path.join(d, "step_000001.safetensors")
    save(ck, hand_model(), META)
    out = os.path.join(d, "e" + "_".join(a.strip("-") for a in args))
    r = run([monolab, "embed", ck, "-o", out, "--device", "cpu", "--samples", "3000", *args])
    assert r.returncode == 0, r.stderr
    neurons = list(csv.DictReader(open(os.path.join(out, "neurons.csv"))))
    s = json.load(open(os.path.join(out, "summary.json")))
    return neurons, s, r.stdout


def col(neurons, c):
    return [int(n[c]) for n in neurons]


@pytest.mark.parametrize("embedding", ["neuron", "pre-mlp"])
def test_single_feature_probe_recovers_known_counts(monolab, embedding):
    with tempfile.TemporaryDirectory() as d:
        neurons, s, out = embed(monolab, d, "--probe", "single", "--embedding", embedding)
    # One feature per input: each polysemantic neuron's examples fall into one
    # orthogonal direction per feature, at cosine distance 1 from the others.
    assert col(neurons, "true_features") == [1, 2, 3, 0, 0]
    assert col(neurons, "input_features") == [1, 2, 2, 0, 0]
    assert col(neurons, "n_clusters") == [1, 2, 2, 0, 0]
    assert col(neurons, "n_examples")[3:] == [0, 0]
    assert (s["probe"], s["embedding"]) == ("single", embedding)
    assert (s["neurons"], s["dead_neurons"], s["mono_neurons"], s["poly_neurons"]) == (5, 2, 1, 2)
    assert (s["neurons_with_examples"], s["live_with_examples"], s["dead_with_examples"]) == (3, 3, 0)
    assert s["frac_live_with_examples"] == 1
    # over the live neurons with examples: truths [1,2,3] / [1,2,2] against clusters [1,2,2]
    np.testing.assert_allclose(s["spearman"], spearmanr([1, 2, 3], [1, 2, 2]).correlation, atol=1e-12)
    assert s["exact_match"] == pytest.approx(2 / 3)
    assert s["spearman_input"] == pytest.approx(1.0) and s["exact_match_input"] == 1.0
    # the weight truth's cutoff: at 0.2 n2 has 2 features and agrees exactly
    sens = s["spearman_by_feature_frac"]
    assert sens["0.1"] == pytest.approx(s["spearman"]) and sens["0.2"] == pytest.approx(1.0)
    mean_d = [float(n["mean_dist"]) for n in neurons[:3]]
    max_d = [float(n["max_dist"]) for n in neurons[:3]]
    assert mean_d[0] == pytest.approx(0, abs=1e-6) and 0.3 < mean_d[1] < 0.7 and max_d[1:] == [1.0, 1.0]
    np.testing.assert_allclose(s["spearman_mean_dist"], spearmanr([1, 2, 3], mean_d).correlation, atol=1e-9)
    np.testing.assert_allclose(s["spearman_max_dist_input"], spearmanr([1, 2, 2], max_d).correlation, atol=1e-9)
    assert "2 dead, 1 mono, 2 poly" in out


def test_pair_probe_finds_the_combination_neuron(monolab):
    with tempfile.TemporaryDirectory() as d:
        neurons, s, _ = embed(monolab, d, "--probe", "pair")
    # n4 answers only to features 0 and 1 together: it gets examples, stays
    # dead by J22, is kept out of the statistics, and no example of it can be
    # attributed to a feature (S[4, i] = 0 for every i).
    n4 = neurons[4]
    assert int(n4["n_examples"]) > 0 and n4["true_features"] == "0" and n4["input_features"] == "0"
    assert (s["dead_neurons"], s["dead_with_examples"], s["live_with_examples"]) == (2, 1, 3)
    assert neurons[3]["n_examples"] == "0"


def test_training_probe_mixes_features(monolab):
    """The default probe samples as in training (eps 0.25): inputs carry
    several features, and every input has features drawn independently."""
    with tempfile.TemporaryDirectory() as d:
        neurons, s, _ = embed(monolab, d)
        _, s2, _ = embed(monolab, d, "--probe", "training")
    assert s == s2 and s["probe"] == "training"
    # n0 (w = e0) sees exactly feature 0, whatever else is active: 1 cluster, 1 feature.
    assert (neurons[0]["n_clusters"], neurons[0]["input_features"]) == ("1", "1")
    assert s["dead_with_examples"] == 1  # the combination neuron n4 fires when 0 and 1 co-occur


def test_bad_probe_exits_2(monolab):
    with tempfile.TemporaryDirectory() as d:
        ck = os.path.join(d, "c.safetensors")
        save(ck, hand_model(), META)
        r = run([monolab, "embed", ck, "-o", os.path.join(d, "o"), "--probe", "triple"])
    assert r.returncode == 2 and "--probe must be training, single or pair, got triple" in r.stderr
    assert not os.path.exists(os.path.join(d, "o"))


def test_probe_needs_a_toy_checkpoint(monolab):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "a.safetensors")
        save(p, {"pre_mlp": np.ones((4, 2), np.float32), "W_in": np.ones((2, 3), np.float32)})
        r = run([monolab, "embed", p, "-o", os.path.join(d, "o"), "--probe", "single"])
    assert r.returncode == 2 and "--probe single needs a toy checkpoint" in r.stderr
