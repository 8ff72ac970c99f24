"""The numbers that decide docs/science.md §1.11's claims 1-3, from the sweeps of
`make figures-quick` (or `make figures`): reads DIR/{LR1,LR3,K0,K1}/runs.csv
and prints a markdown report (also written to DIR/claims.md).

Claim 1: same loss, different monosemanticity; higher lr, more monosemantic (LR1).
Claim 2: bias offset -1 with bias decay is more monosemantic at no loss cost
         (LR3 against LR1 at every lr, K1 against K0 at every k).
Claim 3: mono_per_feature rises with k (K0, K1).
Every cell is median [min, max] over seeds."""
import csv
import os
import sys

import numpy as np
from scipy.stats import spearmanr


def load(d, name):
    path = os.path.join(d, name, "runs.csv")
    if not os.path.exists(path):
        return None
    return list(csv.DictReader(open(path)))


def by(rows, key):
    out = {}
    for r in rows:
        out.setdefault(float(r[key]), []).append(r)
    return dict(sorted(out.items()))


def cell(rows, col):
    v = np.array([float(r[col]) for r in rows])
    v = v[np.isfinite(v)]
    if not len(v):
        return "nan"
    return f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]"


def med(rows, col):
    v = np.array([float(r[col]) for r in rows])
    return float(np.nanmedian(v))


def compare(lines, a, b, key, name_a, name_b):
    """Rows of a table: for each value of key, mono and loss of a and b."""
    lines.append(f"| {key} | {name_a} mono/feature | {name_b} mono/feature | {name_a} eval loss | {name_b} eval loss |")
    lines.append("|---|---|---|---|---|")
    ga, gb = by(a, key), by(b, key)
    wins = 0
    for x in ga:
        if x not in gb:
            continue
        lines.append(f"| {x:g} | {cell(ga[x], 'mono_per_feature')} | {cell(gb[x], 'mono_per_feature')} | "
                     f"{cell(ga[x], 'eval_loss')} | {cell(gb[x], 'eval_loss')} |")
        wins += med(gb[x], "mono_per_feature") > med(ga[x], "mono_per_feature")
    return wins, len([x for x in ga if x in gb])


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "runs/figures-quick"
    lr1, lr3, k0, k1 = (load(d, n) for n in ("LR1", "LR3", "K0", "K1"))
    L = [f"# Claims 1-3 from {d}", "", "Cells: median [min, max] over seeds.", ""]
    if lr1:
        lrs = np.array([float(r["lr"]) for r in lr1])
        mono = np.array([float(r["mono_per_feature"]) for r in lr1])
        loss = np.array([float(r["eval_loss"]) for r in lr1])
        rho = spearmanr(lrs, mono).correlation
        L += ["## Claim 1 (LR1)", "",
              f"- Spearman correlation of lr with mono_per_feature over {len(lr1)} runs: **{rho:.2f}**.",
              f"- eval_loss across all runs: {loss.min():.3f} to {loss.max():.3f} "
              f"({100 * (loss.max() - loss.min()) / loss.min():.0f}% spread); mono_per_feature: "
              f"{mono.min():.3f} to {mono.max():.3f}.", ""]
        L += ["| lr | mono/feature | eval loss |", "|---|---|---|"]
        for x, rows in by(lr1, "lr").items():
            L.append(f"| {x:g} | {cell(rows, 'mono_per_feature')} | {cell(rows, 'eval_loss')} |")
        L.append("")
    if lr1 and lr3:
        L += ["## Claim 2 (LR3 against LR1)", ""]
        w, n = compare(L, lr1, lr3, "lr", "LR1", "LR3")
        L += ["", f"LR3 is more monosemantic than LR1 at {w} of {n} learning rates.", ""]
    if k0 and k1:
        L += ["## Claims 2 and 3 (K1 against K0, by width)", ""]
        w, n = compare(L, k0, k1, "k", "K0", "K1")
        L += ["", f"K1 is more monosemantic than K0 at {w} of {n} widths."]
        for name, rows in (("K0", k0), ("K1", k1)):
            ks = [float(r["k"]) for r in rows]
            rho = spearmanr(ks, [float(r["mono_per_feature"]) for r in rows]).correlation
            L.append(f"- {name}: Spearman correlation of k with mono_per_feature: **{rho:.2f}**.")
        L.append("")
    text = "\n".join(L)
    print(text)
    with open(os.path.join(d, "claims.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
