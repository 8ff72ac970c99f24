/* How much memory monolab may use (src/mem_budget.c): the sweep planner's
 * budget, and the check every command makes before an allocation that
 * grows with a number the user chose. */
#ifndef MONOLAB_MEM_BUDGET_H
#define MONOLAB_MEM_BUDGET_H
#include "monolab/backend.h"
#include <stddef.h>

/* MONOLAB_MEM_GB, else the backend's own budget (be may be NULL), else
 * half of the machine's memory. */
size_t ml_mem_budget(const ml_backend *be);
/* Exit 2 if `bytes` is over the budget: "<what> would need X GB ...; <hint>". */
void ml_mem_check(const char *what, double bytes, const ml_backend *be, const char *hint);

#endif
