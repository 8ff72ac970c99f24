#!/usr/bin/env python3
"""Export one layer's MLP inputs per file in monolab's activation-file
contract, from a real language model, for `monolab embed`.

    python3 scripts/export_activations.py --model gpt2 --layers 0-11 \\
        --text corpus.txt --tokens 1000000 --ctx 64 -o acts/

For every layer L it writes OUT/layerLL.safetensors with
  pre_mlp   [T, d]  the MLP's input after its LayerNorm, before the
                    LayerNorm's scale and shift (TransformerLens
                    blocks.L.ln2.hook_normalized with fold_ln), f16/bf16/f32;
  W_in, b_in        the MLP's input weights with the LayerNorm's scale and
                    shift folded in, so pre_mlp @ W_in + b_in is the MLP's
                    pre-activation (blocks.L.mlp.hook_pre);
  token_ids, doc_index [T]  the token of each row and its context;
  max_act   [n]     only with --max-act;
metadata model, layer, activation (monolab's name: gelu_new for GPT-2),
ctx, backend and vocab, and OUT/vocab.json (token id -> text) for
`monolab explore`.

Text: a plain text file (documents separated by blank lines) or, when the
`datasets` package is installed, a Hugging Face dataset name
(`--text NAME --split train --field text`, streamed). Documents are joined
with the end-of-text token and cut into contexts of --ctx tokens, each
starting with the tokenizer's BOS token when it has one.

The model runs through TransformerLens when it is installed (the field's
standard), else through Hugging Face transformers (GPT-2-architecture
models: GPT2LMHeadModel and friends). Memory is bounded by --batch
contexts, not by --tokens: token ids go to a scratch file and each layer
file is written in place, chunk by chunk, then renamed into place.
Bad arguments or inputs: one line naming the problem, exit code 2."""
import argparse
import csv
import json
import os
import struct
import sys
import time

import numpy as np

MONOLAB_ACT = {"gelu_new": "gelu_new", "gelu": "gelu", "relu": "relu", "solu": "solu",
               "gelu_pytorch_tanh": "gelu_new"}


def die(msg):
    print(f"export_activations: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_layers(spec, n_layers):
    out = []
    for part in spec.split(","):
        try:
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b or a)
        except ValueError:
            die(f"--layers: '{part}' is not a layer or a range like 0-11")
        if not 0 <= lo <= hi < n_layers:
            die(f"--layers: '{part}' is outside the model's layers 0-{n_layers - 1}")
        out += range(lo, hi + 1)
    return sorted(set(out))


def read_max_act(path, layers, d_mlp):
    """CSV layer,neuron,max_act -> {layer: float32[d_mlp]} for the layers it covers fully."""
    got = {}
    try:
        f = open(path, newline="")
    except OSError as e:
        die(f"--max-act {path}: {e.strerror}")
    with f:
        rows = csv.reader(f)
        head = next(rows, None)
        if head is None or [h.strip() for h in head] != ["layer", "neuron", "max_act"]:
            die(f"{path}:1: header must be layer,neuron,max_act")
        for line, r in enumerate(rows, 2):
            try:
                layer, neuron, value = int(r[0]), int(r[1]), float(r[2])
            except (ValueError, IndexError):
                die(f"{path}:{line}: expected layer,neuron,max_act, got {','.join(r)!r}")
            if not 0 <= neuron < d_mlp:
                die(f"{path}:{line}: neuron {neuron} is outside 0-{d_mlp - 1}")
            got.setdefault(layer, np.full(d_mlp, np.nan, np.float32))[neuron] = value
    out = {}
    for layer in layers:
        if layer in got:
            missing = np.flatnonzero(np.isnan(got[layer]))
            if len(missing):
                die(f"{path}: layer {layer} has no max_act for neuron {missing[0]} ({len(missing)} missing)")
            out[layer] = got[layer]
    return out


def documents(args):
    if os.path.exists(args.text):
        with open(args.text, encoding="utf-8", errors="replace") as f:
            doc = []
            for line in f:
                if line.strip():
                    doc.append(line)
                elif doc:
                    yield "".join(doc).rstrip("\n")
                    doc = []
            if doc:
                yield "".join(doc).rstrip("\n")
        return
    try:
        import datasets
    except ImportError:
        die(f"--text {args.text}: no such file (and the datasets package is not installed to load it from the hub)")
    for rec in datasets.load_dataset(args.text, split=args.split, streaming=True):
        yield rec[args.field]


def write_contexts(args, tok, scratch):
    """Token ids of whole contexts into `scratch` (int64); returns the count."""
    bos, eos = tok.bos_token_id, tok.eos_token_id
    tok.model_max_length = 1 << 62  # documents are cut into contexts here, not by the tokenizer
    body = args.ctx - (bos is not None)
    want = args.tokens // args.ctx
    buf, n = [], 0
    with open(scratch, "wb") as f:
        for doc in documents(args):
            buf += tok(doc)["input_ids"] + ([eos] if eos is not None else [])
            while len(buf) >= body and n < want:
                ids = ([bos] if bos is not None else []) + buf[:body]
                f.write(np.asarray(ids, np.int64).tobytes())
                buf, n = buf[body:], n + 1
            if n >= want:
                break
    if n == 0:
        die(f"--text {args.text}: not enough text for one context of {args.ctx} tokens")
    return n


class HFModel:
    """Hugging Face GPT-2-architecture model: the ln_2 input, normalised
    here, is pre_mlp; ln_2's scale and shift fold into c_fc (Conv1D: x W + b)."""
    name = "transformers"

    def __init__(self, args):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        self.torch = torch
        self.tok = AutoTokenizer.from_pretrained(args.model)
        self.model = AutoModelForCausalLM.from_pretrained(args.model).to(args.device).eval()
        body = getattr(self.model, "transformer", None)
        if body is None or not hasattr(body, "h") or not hasattr(body.h[0], "ln_2"):
            die(f"--model {args.model}: the transformers path supports GPT-2-architecture models; "
                "install TransformerLens for others")
        self.blocks = body.h
        self.n_layers, self.d_mlp = len(self.blocks), self.blocks[0].mlp.c_fc.nf
        act = self.model.config.activation_function
        if act not in MONOLAB_ACT:
            die(f"--model {args.model}: activation '{act}' has no monolab equivalent")
        self.act = MONOLAB_ACT[act]

    def weights(self, layer):
        ln, fc = self.blocks[layer].ln_2, self.blocks[layer].mlp.c_fc
        W = fc.weight.detach().double()  # [d, n]
        W_in = ln.weight.detach().double()[:, None] * W
        b_in = fc.bias.detach().double() + ln.bias.detach().double() @ W
        return W_in.float().cpu().numpy(), b_in.float().cpu().numpy()

    def run(self, ids, layers):
        torch, got, last = self.torch, {}, max(layers)

        class Done(Exception):
            pass

        def hook(layer):
            def f(module, inputs):
                x = inputs[0].float()
                x = x - x.mean(-1, keepdim=True)
                got[layer] = x / (x.pow(2).mean(-1, keepdim=True) + module.eps).sqrt()
                if layer == last:
                    raise Done
            return f

        hs = [self.blocks[L].ln_2.register_forward_pre_hook(hook(L)) for L in layers]
        try:
            with torch.no_grad():
                self.model(torch.as_tensor(ids, device=self.model.device))
        except Done:
            pass
        finally:
            for h in hs:
                h.remove()
        return got


class TLModel:
    """TransformerLens HookedTransformer with fold_ln: ln2.hook_normalized is
    pre_mlp and mlp.W_in, mlp.b_in already carry the folded LayerNorm."""
    name = "transformer_lens"

    def __init__(self, args):
        import torch
        from transformer_lens import HookedTransformer
        self.torch = torch
        self.model = HookedTransformer.from_pretrained(args.model, fold_ln=True, center_writing_weights=False,
                                                       center_unembed=False, device=args.device)
        self.tok = self.model.tokenizer
        cfg = self.model.cfg
        self.n_layers, self.d_mlp = cfg.n_layers, cfg.d_mlp
        if cfg.act_fn not in MONOLAB_ACT:
            die(f"--model {args.model}: activation '{cfg.act_fn}' has no monolab equivalent")
        self.act = MONOLAB_ACT[cfg.act_fn]

    def weights(self, layer):
        mlp = self.model.blocks[layer].mlp
        return mlp.W_in.detach().float().cpu().numpy(), mlp.b_in.detach().float().cpu().numpy()

    def run(self, ids, layers):
        names = {f"blocks.{L}.ln2.hook_normalized": L for L in layers}
        with self.torch.no_grad():
            _, cache = self.model.run_with_cache(self.torch.as_tensor(ids, device=self.model.cfg.device),
                                                 names_filter=lambda n: n in names, stop_at_layer=max(layers) + 1)
        return {L: cache[n].float() for n, L in names.items()}


def load_model(args):
    if args.backend in ("auto", "transformer_lens"):
        try:
            import transformer_lens  # noqa: F401
            return TLModel(args)
        except ImportError:
            if args.backend == "transformer_lens":
                die("--backend transformer_lens: TransformerLens is not installed")
    try:
        return HFModel(args)
    except ImportError as e:
        die(f"neither TransformerLens nor transformers can be imported ({e})")


ST_DTYPE = {"f32": ("F32", 4), "f16": ("F16", 2), "bf16": ("BF16", 2)}


class LayerFile:
    """A safetensors file written in place: the header first (every shape is
    known up front), then each tensor's bytes in header order, pre_mlp last
    and chunk by chunk; renamed into place when complete."""

    def __init__(self, path, specs, meta):
        """specs: (name, safetensors dtype, shape, bytes per element) in file order."""
        self.path, self.tmp = path, path + ".tmp"
        header, off = {"__metadata__": meta}, 0
        for name, dt, shape, size in specs:
            n = int(np.prod(shape)) * size
            header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + n]}
            off += n
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        self.f = open(self.tmp, "wb")
        self.f.write(struct.pack("<Q", len(h)) + h)

    def write(self, raw):
        self.f.write(raw)

    def commit(self):
        self.f.flush()
        os.fsync(self.f.fileno())
        self.f.close()
        os.replace(self.tmp, self.path)


def to_bytes(x, dtype):
    """A torch float32 tensor in the chosen storage dtype, as bytes."""
    if dtype == "f32":
        return x.float().cpu().numpy().tobytes()
    if dtype == "f16":
        return x.half().cpu().numpy().tobytes()
    return x.bfloat16().view(sys.modules["torch"].int16).cpu().numpy().tobytes()


def open_layer_file(args, m, L, T, max_act, scratch, n_ctx):
    """Header and every tensor but pre_mlp, which the caller appends."""
    W_in, b_in = m.weights(L)
    d, n = W_in.shape
    small = {"W_in": W_in, "b_in": b_in, **({"max_act": max_act[L]} if L in max_act else {})}
    specs = [(k, "F32", v.shape, 4) for k, v in small.items()]
    specs += [("token_ids", "I64", (T,), 8), ("doc_index", "I64", (T,), 8), ("pre_mlp", ST_DTYPE[args.dtype][0],
                                                                           (T, d), ST_DTYPE[args.dtype][1])]
    meta = {"model": args.model, "layer": str(L), "activation": m.act, "ctx": str(args.ctx), "backend": m.name,
            "vocab": "vocab.json"}
    lf = LayerFile(os.path.join(args.out, f"layer{L:02d}.safetensors"), specs, meta)
    for v in small.values():
        lf.write(np.ascontiguousarray(v, np.float32).tobytes())
    with open(scratch, "rb") as s:  # token_ids
        while chunk := s.read(1 << 20):
            lf.write(chunk)
    for c0 in range(0, n_ctx, 4096):  # doc_index: the context of each row
        lf.write(np.repeat(np.arange(c0, min(n_ctx, c0 + 4096), dtype=np.int64), args.ctx).tobytes())
    return lf


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="hub name (gpt2) or local directory")
    p.add_argument("--layers", default="0", help="e.g. 0-11 or 0,5,7")
    p.add_argument("--text", required=True, help="plain text file, or a dataset name (needs datasets)")
    p.add_argument("--split", default="train")
    p.add_argument("--field", default="text")
    p.add_argument("--tokens", type=int, default=1_000_000, help="tokens to export (whole contexts)")
    p.add_argument("--ctx", type=int, default=64, help="tokens per context")
    p.add_argument("--batch", type=int, default=32, help="contexts per forward pass (bounds memory)")
    p.add_argument("--dtype", choices=["f16", "bf16", "f32"], default="f16", help="storage of pre_mlp")
    p.add_argument("--max-act", help="CSV layer,neuron,max_act of reference maxima")
    p.add_argument("--backend", choices=["auto", "transformer_lens", "transformers"], default="auto")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args()
    if args.ctx < 2 or args.tokens < args.ctx or args.batch < 1:
        die("--ctx must be >= 2, --tokens >= --ctx and --batch >= 1")
    import torch
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    os.makedirs(args.out, exist_ok=True)

    m = load_model(args)
    layers = parse_layers(args.layers, m.n_layers)
    max_act = read_max_act(args.max_act, layers, m.d_mlp) if args.max_act else {}
    scratch = os.path.join(args.out, ".token_ids.tmp")
    n_ctx = write_contexts(args, m.tok, scratch)
    T = n_ctx * args.ctx
    vocab = [m.tok.decode([i]) for i in range(len(m.tok))]
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)

    files = {L: open_layer_file(args, m, L, T, max_act, scratch, n_ctx) for L in layers}
    ids_all = np.memmap(scratch, np.int64, "r", shape=(n_ctx, args.ctx))
    t0, tty = time.time(), sys.stderr.isatty()
    for c0 in range(0, n_ctx, args.batch):
        ids = np.array(ids_all[c0:c0 + args.batch])
        got = m.run(ids, layers)
        for L, lf in files.items():
            lf.write(to_bytes(got[L].reshape(-1, got[L].shape[-1]), args.dtype))
        done = min(n_ctx, c0 + args.batch) * args.ctx
        rate = done / max(time.time() - t0, 1e-9)
        if tty or done == T or c0 // args.batch % 100 == 0:  # a live line on a terminal, else sparse lines
            line = f"[export] {done:,}/{T:,} tokens, {rate:,.0f} tokens/s, ETA {(T - done) / rate:.0f} s"
            print("\r" + line if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    if tty:
        print(file=sys.stderr)
    del ids_all
    for lf in files.values():
        lf.commit()
    os.remove(scratch)
    print(f"[export] wrote {len(files)} layer files ({T:,} tokens, through {m.name}) "
          f"and vocab.json to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
