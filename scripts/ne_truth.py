#!/usr/bin/env python3
"""The ground-truth study of `make ne-truth` (FINDINGS.md): run `monolab embed`
over a fixed grid on every checkpoint of one or more sweeps, and turn the
summaries into a table and figures.

    ne_truth.py --grid configs/ne-truth/embed.json --out OUTDIR SWEEP_DIR...

Writes OUTDIR/table.csv (one row per checkpoint and embed setting),
OUTDIR/aggregate.md (the numbers FINDINGS.md quotes), OUTDIR/scatter.csv and
the figures OUTDIR/spearman_vs_threshold_*.png and OUTDIR/scatter_best.png.
Embed outputs are read and then deleted, so the study needs little disk.
"""
import argparse
import concurrent.futures as cf
import csv
import glob
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONOLAB = os.path.join(ROOT, "build", "monolab")
TRUTHS = {"feat": "", "input": "_input"}  # summary.json key suffix per truth
FRACS = ["0.05", "0.1", "0.2", "0.3", "0.5"]


def checkpoints(sweep_dir):
    """(runs.csv row, final checkpoint path) of every run of a sweep."""
    rows = list(csv.DictReader(open(os.path.join(sweep_dir, "runs.csv"))))
    for r in rows:
        ck = sorted(glob.glob(os.path.join(sweep_dir, "ckpt", r["run_id"], "step_*.safetensors")))
        if not ck:
            sys.exit(f"{sweep_dir}: run {r['run_id']} has no checkpoint (the sweep needs checkpoints: final)")
        yield r, ck[-1]


def embed_one(job):
    """Run one embed; return its summary and the per-neuron counts."""
    ck, s, grid, tmp = job
    out = tempfile.mkdtemp(dir=tmp)
    cmd = [MONOLAB, "embed", ck, "-o", out, "--device", "cpu", "--threshold", str(s["threshold"]),
           "--embedding", s["embedding"], "--probe", s["probe"], "--samples", str(grid["samples"]),
           "--max-examples", str(grid["max_examples"])]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(f"{' '.join(cmd)} failed: {p.stderr.strip()}")
    summ = json.load(open(os.path.join(out, "summary.json")))
    neurons = list(csv.DictReader(open(os.path.join(out, "neurons.csv"))))
    shutil.rmtree(out)
    cols = {c: np.array([float(n[c]) for n in neurons]) for c in
            ("n_examples", "n_clusters", "true_features", "input_features")}
    return summ, cols


def nan(x):
    return float("nan") if x is None else float(x)


def table_row(run, cfg, s, summ, cols):
    live = (cols["true_features"] > 0) & (cols["n_examples"] > 0)
    row = {"sweep": cfg, "run_id": run["run_id"], "seed": int(run["seed"]), "eps": float(run["eps"]),
           "N": int(run["N"]), "k": int(run["k"]), "k_over_N": int(run["k"]) / int(run["N"]),
           "j22": int(float(run["decay"]) > 0), "eval_loss": float(run["eval_loss"]),
           "probe": s["probe"], "embedding": s["embedding"], "threshold": s["threshold"]}
    for key in ("neurons", "dead_neurons", "mono_neurons", "poly_neurons", "neurons_with_examples",
                "live_with_examples", "dead_with_examples"):
        row[key] = int(summ[key])
    row["frac_live_with_examples"] = nan(summ["frac_live_with_examples"])
    for t, suf in TRUTHS.items():
        row[f"spearman_clusters_{t}"] = nan(summ["spearman" + suf])
        row[f"exact_clusters_{t}"] = nan(summ["exact_match" + suf])
        row[f"spearman_mean_dist_{t}"] = nan(summ["spearman_mean_dist" + suf])
        row[f"spearman_max_dist_{t}"] = nan(summ["spearman_max_dist" + suf])
    for f in FRACS:
        row[f"spearman_clusters_feat_frac_{f}"] = nan(summ["spearman_by_feature_frac"][f])
    row["mean_true_features"] = float(cols["true_features"][live].mean()) if live.any() else float("nan")
    row["mean_input_features"] = float(cols["input_features"][live].mean()) if live.any() else float("nan")
    row["mean_n_clusters"] = float(cols["n_clusters"][live].mean()) if live.any() else float("nan")
    return row


def mean_sd(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v)]
    return (v.mean(), v.std(), len(v)) if len(v) else (float("nan"), float("nan"), 0)


def fmt(v):
    m, sd, n = mean_sd(v)
    return f"{m:.2f} ± {sd:.2f} (n={n})"


def select(rows, **kw):
    return [r for r in rows if all(r[a] == b for a, b in kw.items())]


def aggregate(rows, grid, out):
    """aggregate.md: means ± sd over models of every statistic FINDINGS.md needs."""
    L = ["# ne-truth: aggregates of table.csv", "",
         "Mean ± sd over checkpoints (n = checkpoints where the statistic is defined).", ""]
    metrics = [("spearman_clusters_feat", "ρ(clusters, weight truth)"),
               ("spearman_clusters_input", "ρ(clusters, input truth)"),
               ("exact_clusters_feat", "exact(clusters = weight truth)"),
               ("exact_clusters_input", "exact(clusters = input truth)"),
               ("spearman_mean_dist_feat", "ρ(mean_dist, weight truth)"),
               ("spearman_max_dist_feat", "ρ(max_dist, weight truth)"),
               ("spearman_mean_dist_input", "ρ(mean_dist, input truth)"),
               ("spearman_max_dist_input", "ρ(max_dist, input truth)")]
    L += ["## By embed setting (all models)", "",
          "| probe | embedding | threshold | " + " | ".join(h for _, h in metrics) + " |",
          "|---" * (3 + len(metrics)) + "|"]
    for p, e, t in itertools.product(grid["probe"], grid["embedding"], grid["threshold"]):
        sel = select(rows, probe=p, embedding=e, threshold=t)
        L.append(f"| {p} | {e} | {t} | " + " | ".join(fmt([r[m] for r in sel]) for m, _ in metrics) + " |")
    for axis in ("eps", "k_over_N", "j22"):
        L += ["", f"## By {axis}, at each probe and embedding, threshold 0.5", "",
              f"| {axis} | probe | embedding | " + " | ".join(h for _, h in metrics[:4]) +
              " | ρ(max_dist, weight) | mean true count | mean input count | mean clusters | dead | mono | poly |",
              "|---" * (3 + 4 + 7) + "|"]
        for v in sorted({r[axis] for r in rows}):
            for p, e in itertools.product(grid["probe"], grid["embedding"]):
                sel = select(rows, probe=p, embedding=e, threshold=0.5, **{axis: v})
                cells = [fmt([r[m] for r in sel]) for m, _ in metrics[:4]]
                cells.append(fmt([r["spearman_max_dist_feat"] for r in sel]))
                for c in ("mean_true_features", "mean_input_features", "mean_n_clusters", "dead_neurons",
                          "mono_neurons", "poly_neurons"):
                    cells.append(f"{mean_sd([r[c] for r in sel])[0]:.2f}")
                L.append(f"| {v:g} | {p} | {e} | " + " | ".join(cells) + " |")
    L += ["", "## Neuron against pre-MLP embedding, paired by checkpoint, probe and threshold", "",
          "| statistic | mean(neuron − pre-mlp) | neuron better in |", "|---|---|---|"]
    key = lambda r: (r["sweep"], r["run_id"], r["probe"], r["threshold"])
    pre = {key(r): r for r in rows if r["embedding"] == "pre-mlp"}
    for m, h in metrics:
        d = [r[m] - pre[key(r)][m] for r in rows if r["embedding"] == "neuron" and key(r) in pre]
        d = np.array([x for x in d if np.isfinite(x)])
        L.append(f"| {h} | {d.mean():+.3f} (n={len(d)}) | {np.mean(d > 0):.0%} of pairs (ties {np.mean(d == 0):.0%}) |"
                 if len(d) else f"| {h} | undefined | |")
    L += ["", "## Sensitivity of the weight truth's feature_frac (ρ(clusters, truth), threshold 0.5)", "",
          "| probe | embedding | " + " | ".join(FRACS) + " |", "|---" * (2 + len(FRACS)) + "|"]
    for p, e in itertools.product(grid["probe"], grid["embedding"]):
        sel = select(rows, probe=p, embedding=e, threshold=0.5)
        L.append(f"| {p} | {e} | " + " | ".join(fmt([r[f"spearman_clusters_feat_frac_{f}"] for r in sel])
                                               for f in FRACS) + " |")
    L += ["", "## Examples (probe training vs single, threshold 0.5, neuron embedding)", "",
          "| probe | live neurons with examples / live | dead neurons with examples | dead / all |",
          "|---|---|---|---|"]
    for p in grid["probe"]:
        sel = select(rows, probe=p, embedding="neuron", threshold=0.5)
        L.append(f"| {p} | {fmt([r['frac_live_with_examples'] for r in sel])} | "
                 f"{fmt([r['dead_with_examples'] for r in sel])} | "
                 f"{fmt([r['dead_neurons'] / r['neurons'] for r in sel])} |")
    open(os.path.join(out, "aggregate.md"), "w").write("\n".join(L) + "\n")


def figures(rows, grid, scatter, best, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epss = sorted({r["eps"] for r in rows}, reverse=True)
    for t, name in (("feat", "weight-based truth"), ("input", "input-based truth")):
        fig, axes = plt.subplots(len(grid["probe"]), len(grid["embedding"]), figsize=(10, 7), sharex=True,
                                 sharey=True, squeeze=False)
        for (a, p), (b, e) in itertools.product(enumerate(grid["probe"]), enumerate(grid["embedding"])):
            ax = axes[a][b]
            for eps in epss:
                m = [mean_sd([r[f"spearman_clusters_{t}"] for r in select(rows, probe=p, embedding=e,
                                                                           threshold=th, eps=eps)])
                     for th in grid["threshold"]]
                ax.errorbar(grid["threshold"], [x[0] for x in m], yerr=[x[1] for x in m], marker="o", capsize=3,
                            label=f"ε = {eps:g}")
            ax.axhline(0, color="grey", lw=0.8)
            ax.set_title(f"{e} embedding, {p} probe")
            ax.set_xlabel("HAC distance threshold")
            ax.set_ylabel("Spearman(n_clusters, truth)")
        axes[0][0].legend(fontsize=8)
        fig.suptitle(f"Cluster count against the {name}: mean ± sd over widths, J22 on/off, seeds")
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"spearman_vs_threshold_{t}.png"), dpi=90)
        plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    rng = np.random.default_rng(0)
    for ax, t, name in ((axes[0], "true_features", "weight-based true count"),
                        (axes[1], "input_features", "input-based true count")):
        for eps in epss:
            s = [x for x in scatter if x["eps"] == eps]
            x = np.array([x[t] for x in s], float)
            y = np.array([x["n_clusters"] for x in s], float)
            ax.scatter(x + rng.uniform(-0.2, 0.2, len(x)), y + rng.uniform(-0.2, 0.2, len(y)), s=5, alpha=0.4,
                       label=f"ε = {eps:g}")
        ax.set_xlabel(name + " (jittered)")
        ax.set_ylabel("NE cluster count (jittered)")
        ax.legend(fontsize=8, markerscale=3)
    fig.suptitle("Best setting ({probe} probe, {embedding} embedding, threshold {threshold}): "
                 "live neurons with examples of every model".format(**best))
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scatter_best.png"), dpi=90)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweeps", nargs="+", help="sweep output folders (runs.csv and ckpt/)")
    ap.add_argument("--grid", required=True, help="the embed grid (JSON)")
    ap.add_argument("--out", required=True, help="folder for table.csv, aggregate.md, figures")
    ap.add_argument("--jobs", type=int, default=2, help="embeds run at once (each single-threaded)")
    a = ap.parse_args()
    t0 = time.time()
    grid = json.load(open(a.grid))
    settings = [dict(probe=p, embedding=e, threshold=t)
                for p, e, t in itertools.product(grid["probe"], grid["embedding"], grid["threshold"])]
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ne_truth_")
    jobs, meta = [], []
    for sw in a.sweeps:
        cfg = os.path.basename(os.path.normpath(sw))
        for run, ck in checkpoints(sw):
            for s in settings:
                jobs.append((ck, s, grid, tmp))
                meta.append((run, cfg, s))
    rows, per_neuron = [], []
    try:
        with cf.ThreadPoolExecutor(a.jobs) as ex:
            for (run, cfg, s), (summ, cols) in zip(meta, ex.map(embed_one, jobs)):
                rows.append(table_row(run, cfg, s, summ, cols))
                per_neuron.append(cols)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(a.out, "table.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    # The best setting: the highest mean Spearman against the weight-based truth.
    score = {}
    for s in settings:
        score[tuple(s.values())] = mean_sd([r["spearman_clusters_feat"] for r in select(rows, **s)])[0]
    best = dict(zip(settings[0].keys(), max(score, key=lambda k: -np.inf if np.isnan(score[k]) else score[k])))
    scatter = []
    for r, cols in zip(rows, per_neuron):
        if all(r[k] == v for k, v in best.items()):
            live = (cols["true_features"] > 0) & (cols["n_examples"] > 0)
            for j in np.flatnonzero(live):
                scatter.append({"sweep": r["sweep"], "run_id": r["run_id"], "eps": r["eps"], "k": r["k"],
                                "neuron": int(j), "true_features": int(cols["true_features"][j]),
                                "input_features": int(cols["input_features"][j]),
                                "n_clusters": int(cols["n_clusters"][j])})
    with open(os.path.join(a.out, "scatter.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["sweep", "run_id", "eps", "k", "neuron", "true_features",
                                          "input_features", "n_clusters"])
        w.writeheader()
        w.writerows(scatter)
    aggregate(rows, grid, a.out)
    with open(os.path.join(a.out, "aggregate.md"), "a") as f:
        f.write(f"\nBest setting by mean ρ(clusters, weight truth): {best} ({score[tuple(best.values())]:.3f}).\n")
    figures(rows, grid, scatter, best, a.out)
    print(f"ne-truth: {len(rows)} embeds of {len(rows) // len(settings)} checkpoints in {time.time() - t0:.0f} s; "
          f"best setting {best}; wrote {a.out}/table.csv, aggregate.md, scatter.csv and figures")


if __name__ == "__main__":
    main()
