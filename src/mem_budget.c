/* The memory budget (see mem_budget.h). */
#include "monolab/mem_budget.h"
#include "monolab/common.h"
#include <stdlib.h>
#include <unistd.h>

size_t ml_mem_budget(const ml_backend *be) {
    const char *env = getenv("MONOLAB_MEM_GB");
    if (env) {
        double gb = atof(env);
        if (!(gb > 0)) ml_die("MONOLAB_MEM_GB must be a positive number of GB, got '%s'", env);
        return (size_t)(gb * 1e9);
    }
    if (be && be->memory_budget) return be->memory_budget();
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    size_t phys = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)8e9;
    return phys / 2;
}

void ml_mem_check(const char *what, double bytes, const ml_backend *be, const char *hint) {
    size_t budget = ml_mem_budget(be);
    if (bytes > (double)budget)
        ml_die("%s would need %.2f GB of memory, more than the %.2f GB budget (MONOLAB_MEM_GB, or half of this "
               "machine's memory); %s",
               what, bytes / 1e9, (double)budget / 1e9, hint);
}
