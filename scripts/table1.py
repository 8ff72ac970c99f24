#!/usr/bin/env python3
"""Foote et al.'s Table 1 from the embed folders of scripts/lm_demo.sh:
per layer, for the trained model and its untrained initialisation, the
mean over neurons of the mean intra- and inter-cluster cosine distance,
with the neuron embedding (h ⊙ w_j) and with the pre-MLP ablation (h),
beside the published GPT-2-small numbers. A neuron's mean is undefined
(no pair in one cluster, or a single cluster) and left out of that mean;
the counts say how many neurons each mean is over. Because the two
embeddings split neurons differently, a second table compares them on the
same neurons: those where both define the mean.
    usage: table1.py OUT   (reads OUT/embed_{model,random}_L<l>[_pre]/neurons.csv)"""
import csv
import math
import os
import re
import sys

PUBLISHED = {"pre-MLP": (0.31, 0.63), "neuron": (0.21, 0.73)}


def means(path):
    rows = list(csv.DictReader(open(path)))
    out = {}
    for k in ("mean_intra", "mean_inter"):
        xs = [float(r[k]) for r in rows if not math.isnan(float(r[k]))]
        out[k] = (sum(xs) / len(xs) if xs else float("nan"), len(xs))
    out["neurons"] = len(rows)
    out["clusters"] = sum(int(r["n_clusters"]) for r in rows) / max(1, sum(int(r["n_examples"]) > 0 for r in rows))
    return out


def column(path, k):
    return [float(r[k]) for r in csv.DictReader(open(path))]


def paired(out, m, L):
    """(pre intra, neuron intra, n), (pre inter, neuron inter, n) over neurons defined in both."""
    res = []
    for k in ("mean_intra", "mean_inter"):
        pre = column(os.path.join(out, f"embed_{m}_L{L}_pre", "neurons.csv"), k)
        ne = column(os.path.join(out, f"embed_{m}_L{L}", "neurons.csv"), k)
        both = [(a, b) for a, b in zip(pre, ne) if not math.isnan(a) and not math.isnan(b)]
        n = max(1, len(both))
        res.append((sum(a for a, _ in both) / n, sum(b for _, b in both) / n, len(both)))
    return res


def main():
    out = sys.argv[1]
    layers = sorted({int(m[1]) for d in os.listdir(out) if (m := re.fullmatch(r"embed_model_L(\d+)", d))})
    print("| model | layer | embedding | mean intra | mean inter | inter − intra | neurons (intra / inter defined) | mean clusters |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (a, b) in PUBLISHED.items():
        print(f"| GPT-2 small (published) | all | {name} | {a:.2f} | {b:.2f} | {b - a:.2f} | 36,864 | – |")
    for m, label in (("model", "trained"), ("random", "random init")):
        for L in layers:
            for suffix, emb in (("_pre", "pre-MLP"), ("", "neuron")):
                t = means(os.path.join(out, f"embed_{m}_L{L}{suffix}", "neurons.csv"))
                (ia, na), (ie, ne) = t["mean_intra"], t["mean_inter"]
                print(f"| {label} | {L} | {emb} | {ia:.3f} | {ie:.3f} | {ie - ia:.3f} | {t['neurons']} ({na} / {ne}) | "
                      f"{t['clusters']:.2f} |")
    print("\nOn the same neurons (both embeddings define the mean):\n")
    print("| model | layer | intra pre-MLP → neuron | neurons | inter pre-MLP → neuron | neurons |")
    print("|---|---|---|---|---|---|")
    for m, label in (("model", "trained"), ("random", "random init")):
        for L in layers:
            (a, b, n), (c, d, n2) = paired(out, m, L)
            print(f"| {label} | {L} | {a:.3f} → {b:.3f} | {n} | {c:.3f} → {d:.3f} | {n2} |")


if __name__ == "__main__":
    main()
