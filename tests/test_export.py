"""scripts/export_activations.py on a randomly initialised GPT-2-architecture
model built from a config (no hub): the folding invariant
pre_mlp @ W_in + b_in == the MLP's pre-activation (read here from the
library's own c_fc output), shapes, dtypes, doc_index, metadata, vocab,
--max-act, bad input, and `monolab embed` on the result.

The Hugging Face stack is the pinned one `make` installs into build/pydeps
(see the README); TransformerLens is tested where it is installed."""
import csv
import json
import os
import sys

import numpy as np
import pytest

from conftest import run
from gpt2_fixture import D, D_MLP, ENV, SCRIPT, TEXT, export, make_gpt2

import torch  # noqa: E402  (gpt2_fixture puts build/pydeps on the path)
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return make_gpt2(tmp_path_factory.mktemp("gpt2"))


def load(path):
    out = {}
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        for k in f.keys():
            out[k] = f.get_tensor(k)
    return out, meta


def mlp_pre_reference(gpt2_dir, ids, layer):
    """blocks.L.mlp.hook_pre: the output of the library's own c_fc."""
    model = transformers.GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()
    got = {}
    h = model.transformer.h[layer].mlp.c_fc.register_forward_hook(lambda m, i, o: got.update(z=o))
    with torch.no_grad():
        model(ids)
    h.remove()
    return got["z"].reshape(-1, got["z"].shape[-1]).double()


@pytest.fixture(scope="module")
def exported(gpt2_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("acts")
    mx = out / "max.csv"
    rows = [(L, j, 1.0 + 0.01 * j) for L in (0, 2) for j in range(D_MLP)]
    with open(mx, "w") as f:
        f.write("layer,neuron,max_act\n" + "".join(f"{L},{j},{v}\n" for L, j, v in rows))
    r = export(gpt2_dir, out, "--layers", "0,2", "--dtype", "f32", "--max-act", str(mx), "--backend", "transformers")
    assert r.returncode == 0, r.stderr
    assert "tokens/s" in r.stderr
    return out


def test_fold_invariant_shapes_and_metadata(gpt2_dir, exported):
    assert sorted(os.listdir(exported)) == ["layer00.safetensors", "layer02.safetensors", "max.csv", "vocab.json"]
    for L in (0, 2):
        t, meta = load(exported / f"layer{L:02d}.safetensors")
        n_ctx = 500 // 16
        assert t["pre_mlp"].shape == (n_ctx * 16, D) and t["pre_mlp"].dtype == torch.float32
        assert t["W_in"].shape == (D, D_MLP) and t["b_in"].shape == (D_MLP,)
        assert t["token_ids"].dtype == t["doc_index"].dtype == torch.int64
        assert t["doc_index"].tolist() == np.repeat(np.arange(n_ctx), 16).tolist()
        assert meta["model"] == str(gpt2_dir) and meta["layer"] == str(L) and meta["activation"] == "gelu_new"
        assert meta["vocab"] == "vocab.json" and meta["backend"] == "transformers"
        np.testing.assert_allclose(t["max_act"].numpy(), 1.0 + 0.01 * np.arange(D_MLP), rtol=1e-6)
        # the invariant, against the library's own pre-activation
        ids = t["token_ids"].reshape(n_ctx, 16)
        ref = mlp_pre_reference(gpt2_dir, ids, L)
        got = t["pre_mlp"].double() @ t["W_in"].double() + t["b_in"].double()
        err = (got - ref).abs().max().item() / ref.abs().max().item()
        assert err < 1e-5, err
        # pre_mlp is normalised (centred, RMS sqrt(var / (var + eps)) <= 1): scale and shift were folded out
        pre = t["pre_mlp"].double()
        rms = pre.pow(2).mean(1)
        assert float(pre.mean(1).abs().max()) < 1e-5 and 0.9 < float(rms.min()) and float(rms.max()) <= 1 + 1e-6


def test_tokens_contexts_and_vocab(gpt2_dir, exported):
    tok = transformers.AutoTokenizer.from_pretrained(gpt2_dir)
    t, _ = load(exported / "layer00.safetensors")
    ids = t["token_ids"].reshape(-1, 16)
    assert (ids[:, 0] == tok.bos_token_id).all()  # each context starts with BOS
    stream = []
    for doc in TEXT.split("\n\n"):
        stream += tok(doc)["input_ids"] + [tok.eos_token_id]
    assert ids[:, 1:].reshape(-1).tolist() == stream[:ids.shape[0] * 15]
    vocab = json.load(open(exported / "vocab.json"))
    assert len(vocab) == len(tok) and vocab[ids[0, 1]] == tok.decode([int(ids[0, 1])])


@pytest.mark.parametrize("dtype,tol", [("f16", 2e-3), ("bf16", 1e-2)])
def test_half_precision_storage(gpt2_dir, exported, tmp_path, dtype, tol):
    r = export(gpt2_dir, tmp_path, "--layers", "2", "--dtype", dtype)
    assert r.returncode == 0, r.stderr
    t, _ = load(tmp_path / "layer02.safetensors")
    ref, _ = load(exported / "layer02.safetensors")
    assert t["pre_mlp"].dtype == {"f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    np.testing.assert_allclose(t["pre_mlp"].float().numpy(), ref["pre_mlp"].numpy(), atol=tol * 4, rtol=tol)


def test_monolab_embed_runs_on_export(monolab, gpt2_dir, tmp_path):
    r = export(gpt2_dir, tmp_path, "--layers", "2")  # f16 pre_mlp, no max_act
    assert r.returncode == 0, r.stderr
    r = run([monolab, "embed", str(tmp_path / "layer02.safetensors"), "-o", str(tmp_path / "e"), "--device", "cpu",
             "--max-examples", "20"])
    assert r.returncode == 0, r.stderr
    neurons = list(csv.DictReader(open(tmp_path / "e" / "neurons.csv")))
    assert len(neurons) == D_MLP and sum(int(n["n_examples"]) for n in neurons) > D_MLP
    examples = list(csv.DictReader(open(tmp_path / "e" / "examples.csv")))
    assert all(int(e["example"]) == int(e["token"]) // 16 for e in examples)  # examples are contexts


@pytest.mark.parametrize("args,msg", [
    (["--layers", "0-3"], "--layers: '0-3' is outside the model's layers 0-2"),
    (["--layers", "x"], "--layers: 'x' is not a layer"),
    (["--max-act", "BAD"], "BAD.csv:3: expected layer,neuron,max_act"),
    (["--text", "/nonexistent/corpus.txt"], "no such file"),
])
def test_bad_input_one_line_exit_2(gpt2_dir, tmp_path, args, msg):
    if "BAD" in args:
        bad = tmp_path / "BAD.csv"
        bad.write_text("layer,neuron,max_act\n0,0,1.0\n0,zero,1.0\n")
        args = ["--max-act", str(bad)]
    if "--text" in args:
        r = run([sys.executable, SCRIPT, "--model", str(gpt2_dir), "--device", "cpu", "-o", str(tmp_path / "o"), *args],
                env=ENV)
    else:
        r = export(gpt2_dir, tmp_path / "o", *args)
    assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not any(f.endswith(".safetensors") for f in os.listdir(tmp_path / "o")) if (tmp_path / "o").exists() else True


def test_transformer_lens_path(gpt2_dir, tmp_path):
    try:
        import transformer_lens  # noqa: F401
    except ImportError:
        pytest.skip("TransformerLens is not installed (it needs torch >= 2.6 from PyPI; Debian's torch is 1.13): "
                    "its path is tested only where it is installed")
    # TransformerLens loads hub names only; a random local GPT-2 goes through a config it knows
    r = run([sys.executable, SCRIPT, "--model", "gpt2", "--text", str(gpt2_dir / "corpus.txt"), "--ctx", "16",
             "--tokens", "64", "--layers", "0", "--dtype", "f32", "-o", str(tmp_path), "--backend",
             "transformer_lens"], env={**ENV, "HF_HUB_OFFLINE": "0"})
    if r.returncode != 0 and "offline" in r.stderr.lower():
        pytest.skip("TransformerLens is installed but the gpt2 weights are not reachable here")
    assert r.returncode == 0, r.stderr
    t, _ = load(tmp_path / "layer00.safetensors")
    from transformer_lens import HookedTransformer
    model = HookedTransformer.from_pretrained("gpt2", fold_ln=True, center_writing_weights=False, center_unembed=False)
    _, cache = model.run_with_cache(t["token_ids"].reshape(-1, 16), names_filter="blocks.0.mlp.hook_pre")
    ref = cache["blocks.0.mlp.hook_pre"].reshape(-1, model.cfg.d_mlp).double()
    got = t["pre_mlp"].double() @ t["W_in"].double() + t["b_in"].double()
    assert (got - ref).abs().max().item() / ref.abs().max().item() < 1e-5
