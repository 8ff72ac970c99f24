/* Example order for dataset epochs: a Fisher-Yates permutation drawn from
 * the Philox stream (seed, stream, step), so an order is a pure function
 * of those three numbers on any machine. */
#ifndef MONOLAB_SAE_SHUFFLE_H
#define MONOLAB_SAE_SHUFFLE_H
#include <stdint.h>

void ml_permutation(uint64_t seed, uint32_t stream, uint32_t step, int n, int *perm);

#endif
