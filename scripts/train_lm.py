#!/usr/bin/env python3
"""Train a small GPT-2-architecture language model offline, for the path
from a language model to the explorer (README "From a language model to an
explorer", `make lm-demo`).

    PYTHONPATH=build/pydeps /usr/bin/python3 scripts/train_lm.py -o runs/lm-demo

Corpus: the GNU Collaborative International Dictionary of English
(Debian's dict-gcide, /usr/share/dictd/gcide.dict.dz, 40 MB of text): real
English prose (definitions, usage notes, quotations from literature) in
every Debian mirror, so every machine can rebuild it. Each dictionary
entry, its markup stripped, is a document; every 50th is held out.

Tokenizer: byte-level BPE (the `tokenizers` package, GPT-2's scheme)
trained on the training documents, so a token is a frequent piece of this
corpus rather than a byte: 4,096 tokens make a context of 64 cover about
250 characters, where bytes would cover 64.

Writes into OUT:
  model/       the trained GPT2LMHeadModel and its tokenizer (Hugging Face
               layout: scripts/export_activations.py --model OUT/model)
  random/      the same config at its initialisation, never trained: the
               control of REPRODUCTION.md's Table 1
  train.txt, heldout.txt   the documents, one per paragraph, blank-line
               separated (export_activations.py --text)
  lm.json      settings, wall and CPU time, load average, held-out loss of
               the model and of the unigram model (training-token counts,
               add-one smoothed), on the same held-out targets
  train_log.csv  step,tokens,loss,seconds

--quick is the test's version: a 300 kB slice of the corpus, a tiny model,
a few steps (seconds). Bad input: one line, exit 2."""
import argparse
import csv
import gzip
import json
import math
import os
import re
import sys
import time

GCIDE = "/usr/share/dictd/gcide.dict.dz"


def die(msg):
    print(f"train_lm: {msg}", file=sys.stderr)
    sys.exit(2)


def gcide_documents(path, max_chars=None):
    """Dictionary entries as plain paragraphs. An entry starts at a line in
    column 0; its wrapped lines are joined, source tags like [1913 Webster]
    dropped, pronunciation markup \\A*buse"\\ and cross-reference braces
    {word} reduced to their text."""
    try:
        raw = gzip.open(path).read().decode("utf-8", "replace")  # dictzip is gzip
    except OSError as e:
        die(f"{path}: {e} (install Debian's dict-gcide)")
    tag = re.compile(r"^\s*\[[^\]]*\]\s*$")
    total, entry, para = 0, [], []

    def close_para():
        if para:
            entry.append(" ".join(para))
            para.clear()

    for line in raw.split("\n"):
        if line and not line[0].isspace() and entry + para:  # a new headword
            close_para()
            doc = "\n".join(entry)
            entry.clear()
            total += len(doc)
            yield doc
            if max_chars and total >= max_chars:
                return
        if tag.match(line):
            continue
        if not line.strip():
            close_para()
            continue
        text = re.sub(r"\\([^\\]*)\\", lambda m: m.group(1).replace("*", "").replace('"', ""), line.strip())
        para.append(text.replace("{", "").replace("}", ""))
    close_para()
    if entry:
        yield "\n".join(entry)


def write_docs(path, docs):
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(d + "\n\n")


def train_tokenizer(docs, vocab_size, out):
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(docs, vocab_size=vocab_size, min_frequency=2, special_tokens=["<|endoftext|>"],
                            show_progress=False)
    tok = transformers.GPT2TokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>",
                                         eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    tok.model_max_length = 1 << 30
    tok.save_pretrained(out)
    return tok


def token_stream(tok, docs):
    """Every document's ids followed by the end-of-text token, as one array."""
    import numpy as np
    ids = []
    for i in range(0, len(docs), 2048):
        for d in tok(docs[i:i + 2048])["input_ids"]:
            ids += d
            ids.append(tok.eos_token_id)
    return np.asarray(ids, np.int64)


def batches(stream, ctx, batch, rng):
    """Random windows of ctx + 1 tokens: inputs and next-token targets."""
    import torch
    starts = rng.integers(0, len(stream) - ctx - 1, batch)
    w = torch.as_tensor(stream[starts[:, None] + range(ctx + 1)])
    return w[:, :-1], w[:, 1:]


def heldout_loss(model, stream, ctx, n_tokens):
    """Mean next-token loss over consecutive held-out windows (the same targets for every model)."""
    import torch
    n = min(n_tokens // ctx, (len(stream) - 1) // ctx)
    w = torch.as_tensor(stream[:n * ctx + 1])
    x, y = w[:-1].reshape(n, ctx), w[1:].reshape(n, ctx)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, n, 32):
            logits = model(x[i:i + 32]).logits
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[i:i + 32].reshape(-1),
                                                       reduction="sum").item()
    model.train()
    return total / (n * ctx), y.reshape(-1).numpy()


def unigram_loss(train, targets, vocab):
    import numpy as np
    counts = np.bincount(train, minlength=vocab).astype(np.float64) + 1.0
    return float(-np.log(counts[targets] / counts.sum()).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--corpus", default=GCIDE, help="dict-gcide's dictzip file")
    p.add_argument("--chars", type=int, default=0, help="use only the first CHARS characters (0: all)")
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d", type=int, default=128, help="residual width; the MLP is 4d")
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ctx", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--eval-tokens", type=int, default=65536)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1: with other jobs on the cores, 2 threads ran 3x slower per step)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="the test's seconds-long version")
    a = p.parse_args()
    if a.quick:
        a.chars, a.vocab, a.layers, a.d, a.heads, a.ctx, a.batch, a.steps, a.eval_tokens = \
            300_000, 512, 2, 32, 2, 32, 16, 200, 4096
    import numpy as np
    import torch
    import transformers
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    t0, cpu0 = time.time(), time.process_time()
    os.makedirs(a.out, exist_ok=True)

    docs = list(gcide_documents(a.corpus, a.chars or None))
    train_docs = [d for i, d in enumerate(docs) if i % 50 != 49]
    held_docs = [d for i, d in enumerate(docs) if i % 50 == 49]
    write_docs(os.path.join(a.out, "train.txt"), train_docs)
    write_docs(os.path.join(a.out, "heldout.txt"), held_docs)
    chars = sum(map(len, docs))
    print(f"[train_lm] corpus: {len(docs):,} entries, {chars / 1e6:.1f} M characters "
          f"({len(held_docs):,} held out)", file=sys.stderr, flush=True)

    model_dir, random_dir = os.path.join(a.out, "model"), os.path.join(a.out, "random")
    tok = train_tokenizer(train_docs, a.vocab, model_dir)
    tok.save_pretrained(random_dir)
    train, held = token_stream(tok, train_docs), token_stream(tok, held_docs)
    t_tok = time.time() - t0
    print(f"[train_lm] tokenizer ({len(tok)} tokens) and {len(train):,} training tokens in {t_tok:.0f} s",
          file=sys.stderr, flush=True)

    cfg = transformers.GPT2Config(n_layer=a.layers, n_embd=a.d, n_head=a.heads, n_inner=4 * a.d, n_positions=a.ctx,
                                  vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = transformers.GPT2LMHeadModel(cfg)
    model.save_pretrained(random_dir)  # the control: this very initialisation
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warm = max(1, a.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))
    rng = np.random.default_rng(a.seed)
    log = open(os.path.join(a.out, "train_log.csv"), "w", newline="")
    w = csv.writer(log)
    w.writerow(["step", "tokens", "loss", "seconds"])
    t1, tty = time.time(), sys.stderr.isatty()
    for step in range(1, a.steps + 1):
        x, y = batches(train, a.ctx, a.batch, rng)
        loss = model(x, labels=None).logits
        loss = torch.nn.functional.cross_entropy(loss.reshape(-1, loss.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0 or step == a.steps:
            el = time.time() - t1
            w.writerow([step, step * a.batch * a.ctx, f"{loss.item():.4f}", f"{el:.1f}"])
            log.flush()
            line = f"[train_lm] step {step}/{a.steps} loss {loss.item():.3f}, {el:.0f} s, " \
                   f"ETA {el / step * (a.steps - step):.0f} s"
            if tty or step % 500 == 0 or step == a.steps:
                print("\r" + line if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
    if tty:
        print(file=sys.stderr)
    log.close()
    t_train = time.time() - t1
    model.save_pretrained(model_dir)

    lm, targets = heldout_loss(model, held, a.ctx, a.eval_tokens)
    rand, _ = heldout_loss(transformers.GPT2LMHeadModel.from_pretrained(random_dir), held, a.ctx, a.eval_tokens)
    uni = unigram_loss(train, targets, len(tok))
    report = {"corpus": a.corpus, "entries": len(docs), "characters": chars, "heldout_entries": len(held_docs),
              "vocab": len(tok), "train_tokens": int(len(train)), "heldout_tokens": int(len(held)),
              "config": {"n_layer": a.layers, "n_embd": a.d, "n_head": a.heads, "n_inner": 4 * a.d, "ctx": a.ctx,
                         "params": sum(p.numel() for p in model.parameters())},
              "steps": a.steps, "batch": a.batch, "lr": a.lr, "tokens_seen": a.steps * a.batch * a.ctx,
              "threads": a.threads, "eval_tokens": int(len(targets)),
              "heldout_loss": lm, "unigram_loss": uni, "random_init_loss": rand,
              "seconds_tokenizer": round(t_tok, 1), "seconds_training": round(t_train, 1),
              "seconds_total": round(time.time() - t0, 1), "cpu_seconds": round(time.process_time() - cpu0, 1),
              "load_average_1min_at_end": os.getloadavg()[0]}
    with open(os.path.join(a.out, "lm.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"[train_lm] held-out loss {lm:.3f} nats/token (unigram {uni:.3f}, untrained {rand:.3f}); "
          f"training {t_train:.0f} s, total {time.time() - t0:.0f} s; model in {model_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
