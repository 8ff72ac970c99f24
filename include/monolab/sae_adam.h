/* Plain Adam over a flat parameter array, for the models of `monolab sae`
 * (the toy-model backends run their own fused optimiser passes). */
#ifndef MONOLAB_SAE_ADAM_H
#define MONOLAB_SAE_ADAM_H

/* One Adam step (torch.optim.Adam defaults, no weight decay) over n
 * parameters, t1 the 1-based step count, in index order. */
void ml_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, long t1);

#endif
