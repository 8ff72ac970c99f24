/* `monolab plot` on a `monolab sae` output folder (one with saes.csv). */
#ifndef MONOLAB_PLOT_SAE_H
#define MONOLAB_PLOT_SAE_H

/* Draws OUTDIR/figures/sae_metrics_vs_ln and sae_tradeoff (.png, .svg, and
 * the .dat and .gp they come from). Returns 0. */
int ml_plot_sae(const char *outdir);

#endif
