"""A randomly initialised GPT-2-architecture model saved like a hub model
(no download), and a runner for scripts/export_activations.py on it, for
the exporter and explorer tests. The Hugging Face stack is the pinned one
`make` installs into build/pydeps (see the README)."""
import os
import sys

import pytest

from conftest import BUILD, ROOT, run

PYDEPS = os.path.join(BUILD, "pydeps")
SCRIPT = os.path.join(ROOT, "scripts", "export_activations.py")
ENV = {**os.environ, "PYTHONPATH": PYDEPS, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
if not os.path.isdir(PYDEPS):
    pytest.fail(f"{PYDEPS} is missing: `make {os.path.relpath(PYDEPS, ROOT)}` installs the pinned transformers",
                pytrace=False)
sys.path.insert(0, PYDEPS)

TEXT = "\n\n".join(
    " ".join(f"word{(7 * d + 3 * i) % 23} the cat sat on mat {i % 5}" for i in range(40)) for d in range(12))
N_LAYER, D, D_MLP = 3, 32, 128


def make_gpt2(d, text=TEXT):
    """Random GPT-2 (3 layers) with a byte-level BPE tokenizer trained on
    `text`, saved in directory d with text as d/corpus.txt. The LayerNorm
    scales and shifts are random so that folding them is really tested."""
    import torch
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([text], vocab_size=400, min_frequency=1, special_tokens=["<|endoftext|>"])
    tok = transformers.GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>",
                                         eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(n_layer=N_LAYER, n_embd=D, n_head=4, n_inner=D_MLP, n_positions=64,
                                  vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = transformers.GPT2LMHeadModel(cfg)
    with torch.no_grad():
        for blk in model.transformer.h:
            blk.ln_2.weight.uniform_(0.5, 1.5)
            blk.ln_2.bias.normal_(0, 0.3)
            blk.mlp.c_fc.bias.normal_(0, 0.1)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    (d / "corpus.txt").write_text(text)
    return d


def export(gpt2_dir, out, *args, tokens=500, ctx=16):
    return run([sys.executable, SCRIPT, "--model", str(gpt2_dir), "--text", str(gpt2_dir / "corpus.txt"),
                "--ctx", str(ctx), "--tokens", str(tokens), "--batch", "4", "--device", "cpu", "-o", str(out), *args],
               env=ENV)
