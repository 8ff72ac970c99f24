// The CPU execution layer's scheduler: a launch's blocks, each block's
// threads as fibers, and the barriers and warp collectives that switch
// between them (see cuda_runtime.h for the model).
//
// A block runs on one OS thread. Its threads are Boost.Context fibers,
// created when first scheduled; one runs until it reaches __syncthreads, a
// warp collective or its end, and only then does the scheduler pick the
// next runnable thread by CUDA_HOST_ORDER. A thread that finishes returns
// its stack to a per-OS-thread pool at once, so a kernel without barriers
// runs its threads one after another on a single warm stack.
//
// A collective's results are computed once, when the last lane of its mask
// arrives, into each lane's own slot: a lane that races ahead into the
// next collective cannot overwrite what a slower lane has still to read.
#include "cuda_runtime.h"
#include "cuda_host.h"
#include <algorithm>
#include <atomic>
#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>
#include <cstdarg>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <vector>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace ctx = boost::context;

namespace cuda_host {

void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fprintf(stderr, "cuda_host: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort();
}

void warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cuda_host: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

long env_long(const char *name, long dflt) {
    const char *e = getenv(name);
    if (!e || !*e) return dflt;
    char *end;
    long v = strtol(e, &end, 0);
    if (*end) fatal("%s=%s: not a number", name, e);
    return v;
}

// Read at every launch (a getenv, nothing next to a launch), so that a
// test can change it between launches.
order_policy order() {
    const char *e = getenv("CUDA_HOST_ORDER");
    if (!e || !*e || !strcmp(e, "natural")) return ORDER_NATURAL;
    if (!strcmp(e, "reverse")) return ORDER_REVERSE;
    if (!strcmp(e, "random")) return ORDER_RANDOM;
    fatal("CUDA_HOST_ORDER=%s: use natural, reverse or random", e);
}

uint64_t splitmix64(uint64_t &s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

stats g_stats;

// ------------------------------------------------------------ fiber stacks
// mmap'd with a guard page below, so an overflow faults instead of
// corrupting a neighbour; kept per OS thread and reused across launches.
static size_t stack_bytes() {
#if defined(__SANITIZE_ADDRESS__)
    static const size_t n = (size_t)env_long("CUDA_HOST_STACK_KB", 512) << 10;
#else
    static const size_t n = (size_t)env_long("CUDA_HOST_STACK_KB", 128) << 10;
#endif
    return n;
}
static const size_t GUARD = 4096;

struct stack_pool {
    std::vector<void *> free_tops;
    ~stack_pool() {
        for (void *top : free_tops) munmap((char *)top - stack_bytes() - GUARD, stack_bytes() + GUARD);
    }
};
static thread_local stack_pool t_stacks;

// `where`, when set, learns the stack's lowest address (AddressSanitizer's
// fiber annotations need it).
struct pooled_stack {
    const void **where = nullptr;
    ctx::stack_context allocate() {
        ctx::stack_context sc;
        const size_t n = stack_bytes();
        if (!t_stacks.free_tops.empty()) {
            sc.sp = t_stacks.free_tops.back();
            t_stacks.free_tops.pop_back();
        } else {
            char *m = (char *)mmap(nullptr, n + GUARD, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) fatal("mmap of a %zu-byte fiber stack failed", n + GUARD);
            mprotect(m, GUARD, PROT_NONE);
            sc.sp = m + GUARD + n;
        }
        sc.size = n;
        if (where) *where = (char *)sc.sp - n;
        return sc;
    }
    void deallocate(ctx::stack_context &sc) noexcept { t_stacks.free_tops.push_back(sc.sp); }
};

// ------------------------------------------------------------ a block's state
enum thread_state { T_NEW, T_RUNNABLE, T_WAIT_BLOCK, T_WAIT_WARP, T_DONE };
enum collective_kind { C_NONE, C_SYNCWARP, C_SHUFFLE, C_BALLOT };

struct fiber_thread : thread_view {
    int lane = 0, warp = 0;
    thread_state state = T_NEW;
    const char *site = nullptr;
    ctx::fiber self; // the thread, while it is suspended
    ctx::fiber back; // the scheduler, while the thread runs
    const void *stack = nullptr; // its fiber stack's lowest address
    void *fake = nullptr;        // AddressSanitizer's fake stack of this fiber
    // this thread's part in the warp collective in progress, and its result
    uint64_t value = 0, result = 0;
    int rule = 0, arg = 0, width = 32;
};

struct warp_state {
    unsigned exist = 0;   // lanes the block has in this warp
    unsigned exited = 0;  // lanes that have returned
    unsigned arrived = 0; // lanes waiting in the collective in progress
    unsigned mask = 0;
    collective_kind kind = C_NONE;
    const char *site = nullptr;
};

struct block_state : block_view {
    const char *kernel = nullptr;
    int n = 0, alive = 0, exited = 0, at_barrier = 0;
    const char *barrier_site = nullptr;
    std::vector<fiber_thread> th;
    std::vector<warp_state> warps;
    std::vector<int> runnable;
    size_t head = 0; // natural order: runnable is a FIFO from head
    order_policy policy = ORDER_NATURAL;
    uint64_t rng = 0;
    char *dyn = nullptr;
    std::vector<const void *> poisoned;
    const std::function<void()> *body = nullptr;
};

static thread_local block_state *t_block = nullptr;
static thread_local fiber_thread *t_thread = nullptr;

// AddressSanitizer must be told of every switch between stacks, or it takes
// a fiber's frames for an overflow of the scheduler's (a no-op otherwise).
#if defined(__SANITIZE_ADDRESS__)
static thread_local const void *t_sched_bottom = nullptr;
static thread_local size_t t_sched_size = 0;
static void to_fiber_begin(fiber_thread *t, void **fake) {
    __sanitizer_start_switch_fiber(fake, t->stack, stack_bytes());
}
static void to_fiber_end(void *fake) { __sanitizer_finish_switch_fiber(fake, nullptr, nullptr); }
static void to_sched_begin(fiber_thread *t, bool exiting) {
    __sanitizer_start_switch_fiber(exiting ? nullptr : &t->fake, t_sched_bottom, t_sched_size);
}
static void to_sched_end(fiber_thread *t) { __sanitizer_finish_switch_fiber(t->fake, &t_sched_bottom, &t_sched_size); }
#else
static void to_fiber_begin(fiber_thread *, void **) {}
static void to_fiber_end(void *) {}
static void to_sched_begin(fiber_thread *, bool) {}
static void to_sched_end(fiber_thread *) {}
#endif

static const char *where(const block_state *b) {
    static thread_local char buf[256];
    snprintf(buf, sizeof buf, "kernel %s block (%u,%u,%u)", b->kernel, b->idx.x, b->idx.y, b->idx.z);
    return buf;
}

static fiber_thread *current(const char *what) {
    if (!t_thread) fatal("%s called outside a kernel", what);
    return t_thread;
}

static void make_runnable(block_state *b, int tid) {
    b->th[tid].state = T_RUNNABLE;
    b->runnable.push_back(tid);
}

// Back to the scheduler; returns when the scheduler resumes this thread.
static void yield(fiber_thread *t) {
    to_sched_begin(t, false);
    t->back = std::move(t->back).resume();
    to_sched_end(t);
}

// ------------------------------------------------------------ barriers
void syncthreads(const char *site) {
    fiber_thread *t = current("__syncthreads()");
    block_state *b = t_block;
    if (b->exited)
        fatal("%s: thread (%u,%u,%u) reaches __syncthreads() at %s after %d thread(s) of its block returned; a "
              "barrier must be reached by every thread of the block",
              where(b), t->idx.x, t->idx.y, t->idx.z, site, b->exited);
    if (b->at_barrier == 0) b->barrier_site = site;
    else if (b->barrier_site != site && strcmp(b->barrier_site, site))
        fatal("%s: divergent __syncthreads(): thread (%u,%u,%u) at %s while %d thread(s) wait at %s", where(b),
              t->idx.x, t->idx.y, t->idx.z, site, b->at_barrier, b->barrier_site);
    t->state = T_WAIT_BLOCK;
    t->site = site;
    if (++b->at_barrier == b->alive) { // the last one: release all, in thread order
        b->at_barrier = 0;
        b->barrier_site = nullptr;
        for (int i = 0; i < b->n; i++)
            if (b->th[i].state == T_WAIT_BLOCK) make_runnable(b, i);
    }
    yield(t); // always: the scheduler may run another thread first
}

// ------------------------------------------------------------ warp collectives
static void finish_collective(block_state *b, int w) {
    warp_state &W = b->warps[w];
    fiber_thread *lanes = &b->th[(size_t)w * 32];
    if (W.kind == C_BALLOT) {
        unsigned r = 0;
        for (int l = 0; l < 32; l++)
            if ((W.mask >> l & 1u) && lanes[l].value) r |= 1u << l;
        for (int l = 0; l < 32; l++)
            if (W.mask >> l & 1u) lanes[l].result = r;
    } else if (W.kind == C_SHUFFLE) {
        for (int l = 0; l < 32; l++) {
            if (!(W.mask >> l & 1u)) continue;
            fiber_thread &t = lanes[l];
            const int width = t.width, seg = l & ~(width - 1);
            int src;
            switch (t.rule) {
            case SHFL_IDX: src = seg + (t.arg & (width - 1)); break;
            case SHFL_DOWN: src = l + t.arg < seg + width ? l + t.arg : l; break;
            case SHFL_UP: src = l - t.arg >= seg ? l - t.arg : l; break;
            default: src = seg + ((l - seg) ^ (t.arg & (width - 1))); break;
            }
            if (!(W.mask >> src & 1u))
                fatal("%s: thread (%u,%u,%u) (lane %d) shuffles at %s from lane %d, which is not in the mask "
                      "0x%08x (an undefined value on a GPU)",
                      where(b), t.idx.x, t.idx.y, t.idx.z, l, W.site, src, W.mask);
            t.result = lanes[src].value;
        }
    }
    for (int l = 0; l < 32; l++)
        if (W.mask >> l & 1u) make_runnable(b, w * 32 + l);
    W.arrived = 0;
    W.mask = 0;
    W.kind = C_NONE;
    W.site = nullptr;
}

static const char *kind_name(collective_kind k) {
    return k == C_SYNCWARP ? "__syncwarp" : k == C_SHUFFLE ? "a shuffle" : k == C_BALLOT ? "__ballot_sync" : "?";
}

// Arrive at a warp collective; returns once every lane of the mask has.
static void collective(fiber_thread *t, collective_kind kind, unsigned mask, const char *site) {
    block_state *b = t_block;
    warp_state &W = b->warps[t->warp];
    if (!(mask >> t->lane & 1u))
        fatal("%s: thread (%u,%u,%u) calls %s at %s with mask 0x%08x, which excludes its own lane %d", where(b),
              t->idx.x, t->idx.y, t->idx.z, kind_name(kind), site, mask, t->lane);
    if (mask & ~W.exist)
        fatal("%s warp %d: %s at %s names lanes 0x%08x that the block does not have (blockDim %u x %u x %u)",
              where(b), t->warp, kind_name(kind), site, mask & ~W.exist, b->dim.x, b->dim.y, b->dim.z);
    if (mask & W.exited)
        fatal("%s warp %d: %s at %s is reached by only part of its mask 0x%08x: lanes 0x%08x have returned",
              where(b), t->warp, kind_name(kind), site, mask, mask & W.exited);
    if (W.arrived == 0) {
        W.mask = mask;
        W.kind = kind;
        W.site = site;
    } else if (W.mask != mask || W.kind != kind || (W.site != site && strcmp(W.site, site))) {
        fatal("%s warp %d: lane %d is at %s (%s, mask 0x%08x) while lanes 0x%08x wait at %s (%s, mask 0x%08x)",
              where(b), t->warp, t->lane, site, kind_name(kind), mask, W.arrived, W.site, kind_name(W.kind), W.mask);
    }
    t->state = T_WAIT_WARP;
    t->site = site;
    W.arrived |= 1u << t->lane;
    if (W.arrived == W.mask) finish_collective(b, t->warp);
    yield(t);
}

void syncwarp(unsigned mask, const char *site) { collective(current("__syncwarp()"), C_SYNCWARP, mask, site); }

uint64_t shuffle(unsigned mask, uint64_t bits, int rule, int arg, int width, const char *site) {
    fiber_thread *t = current("a __shfl_*_sync");
    if (width < 1 || width > 32 || (width & (width - 1)))
        fatal("%s: shuffle at %s with width %d (a power of 2 up to 32)", where(t_block), site, width);
    t->value = bits;
    t->rule = rule;
    t->arg = arg;
    t->width = width;
    collective(t, C_SHUFFLE, mask, site);
    return t->result;
}

unsigned ballot(unsigned mask, int pred, const char *site) {
    fiber_thread *t = current("__ballot_sync()");
    t->value = pred != 0;
    collective(t, C_BALLOT, mask, site);
    return (unsigned)t->result;
}

// ------------------------------------------------------------ shared memory
void poison_shared(void *p, size_t bytes) {
    block_state *b = t_block;
    if (!b) fatal("a __shared__ variable declared outside a kernel");
    for (const void *q : b->poisoned)
        if (q == p) return;
    b->poisoned.push_back(p);
    memset(p, 0xff, bytes); // as garbage, not the previous block's values: NaN for floats, -1 for ints
}

void *dynamic_shared(size_t align) {
    block_state *b = t_block;
    if (!b) fatal("extern __shared__ memory used outside a kernel");
    if ((uintptr_t)b->dyn % align) fatal("%s: dynamic shared memory misaligned for its type", where(b));
    return b->dyn;
}

// ------------------------------------------------------------ running a block
static void thread_exit(block_state *b, fiber_thread *t) {
    t->state = T_DONE;
    b->alive--;
    b->exited++;
    warp_state &W = b->warps[t->warp];
    W.exited |= 1u << t->lane;
    if (W.arrived && (W.mask >> t->lane & 1u))
        fatal("%s warp %d: %s at %s is reached by only part of its mask 0x%08x: lane %d returned", where(b), t->warp,
              kind_name(W.kind), W.site, W.mask, t->lane);
    if (b->at_barrier)
        fatal("%s: thread (%u,%u,%u) returned while %d thread(s) wait at __syncthreads() at %s; a barrier must be "
              "reached by every thread of the block",
              where(b), t->idx.x, t->idx.y, t->idx.z, b->at_barrier, b->barrier_site);
}

static void deadlock(block_state *b) {
    fprintf(stderr, "cuda_host: error: %s: deadlock: %d thread(s) wait and none can run\n", where(b), b->alive);
    int shown = 0;
    for (auto &t : b->th)
        if (t.state == T_WAIT_BLOCK || t.state == T_WAIT_WARP) {
            if (shown++ == 8) break;
            fprintf(stderr, "  thread (%u,%u,%u) (warp %d lane %d) waits at %s %s\n", t.idx.x, t.idx.y, t.idx.z,
                    t.warp, t.lane, t.state == T_WAIT_BLOCK ? "__syncthreads() at" : "a warp collective at", t.site);
        }
    fatal("deadlock");
}

static int pick(block_state *b) {
    const size_t avail = b->runnable.size() - b->head;
    if (!avail) return -1;
    int tid;
    switch (b->policy) {
    case ORDER_NATURAL:
        tid = b->runnable[b->head++];
        if (b->head == b->runnable.size()) b->runnable.clear(), b->head = 0;
        break;
    case ORDER_REVERSE:
        tid = b->runnable.back();
        b->runnable.pop_back();
        break;
    default: {
        const size_t k = splitmix64(b->rng) % avail;
        tid = b->runnable[k];
        b->runnable[k] = b->runnable.back();
        b->runnable.pop_back();
    }
    }
    return tid;
}

static void run_block(block_state &b) {
    long switches = 0;
    for (int tid; (tid = pick(&b)) >= 0;) {
        fiber_thread *t = &b.th[tid];
        if (t->state == T_NEW) {
            pooled_stack alloc;
            alloc.where = &t->stack;
            t->self = ctx::fiber(std::allocator_arg, alloc, [t](ctx::fiber &&sched) {
                t->fake = nullptr;
                to_sched_end(t);
                t->back = std::move(sched);
                block_state *bb = t_block;
                (*bb->body)();
                thread_exit(bb, t);
                to_sched_begin(t, true);
                return std::move(t->back);
            });
        }
        t->state = T_RUNNABLE;
        t_thread = t;
        cur_thread = t;
        void *fake = nullptr;
        to_fiber_begin(t, &fake);
        t->self = std::move(t->self).resume();
        to_fiber_end(fake);
        switches++;
    }
    t_thread = nullptr;
    cur_thread = nullptr;
    if (b.alive) deadlock(&b);
    g_stats.switches += switches;
    g_stats.threads += b.n;
}

static void block_init(block_state &b, const launch_config &c, const std::function<void()> &body, long i,
                       uint64_t seed, order_policy policy) {
    b.policy = policy;
    const dim3 g = c.grid, d = c.block;
    b.kernel = c.name;
    b.idx = uint3{(unsigned)(i % g.x), (unsigned)(i / g.x % g.y), (unsigned)(i / ((long)g.x * g.y))};
    b.dim = d;
    b.grid = g;
    b.n = b.alive = (int)(d.x * d.y * d.z);
    b.exited = b.at_barrier = 0;
    b.barrier_site = nullptr;
    b.th.clear();
    b.th.resize(b.n);
    b.warps.assign((b.n + 31) / 32, warp_state());
    for (size_t w = 0; w < b.warps.size(); w++) {
        int lanes = std::min(32, b.n - (int)w * 32);
        b.warps[w].exist = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
    }
    b.runnable.clear();
    b.head = 0;
    for (int t = 0; t < b.n; t++) {
        fiber_thread &f = b.th[t];
        f.idx = uint3{(unsigned)(t % d.x), (unsigned)(t / d.x % d.y), (unsigned)(t / (d.x * d.y))};
        f.lane = t & 31;
        f.warp = t >> 5;
        f.state = T_NEW;
        b.runnable.push_back(t);
    }
    b.rng = seed;
    b.dyn = (char *)malloc(c.smem ? c.smem : 1); // its exact size, so that AddressSanitizer sees an overrun
    memset(b.dyn, 0xff, c.smem);
    b.poisoned.clear();
    b.body = &body;
}

void run_grid(const launch_config &c, const std::function<void()> &body, uint64_t seed) {
    const long nb = (long)c.grid.x * c.grid.y * c.grid.z;
    std::vector<long> blocks(nb);
    for (long i = 0; i < nb; i++) blocks[i] = i;
    const order_policy policy = order();
    if (policy == ORDER_REVERSE) std::reverse(blocks.begin(), blocks.end());
    else if (policy == ORDER_RANDOM) {
        uint64_t s = seed;
        for (long i = nb - 1; i > 0; i--) std::swap(blocks[i], blocks[splitmix64(s) % (uint64_t)(i + 1)]);
    }
    // CUDA_HOST_THREADS > 1 runs blocks on several OS threads, as SMs do; a
    // kernel whose blocks race then gives results that vary from run to run.
    const int par = (int)env_long("CUDA_HOST_THREADS", 1);
#pragma omp parallel num_threads(par) if (par > 1 && nb > 1)
    {
        block_state b;
        block_state *saved_b = t_block;
        block_view *saved_v = cur_block;
#pragma omp for schedule(dynamic, 1)
        for (long q = 0; q < nb; q++) {
            block_init(b, c, body, blocks[q], seed ^ ((uint64_t)blocks[q] * 0xD1B54A32D192ED03ull), policy);
            t_block = &b;
            cur_block = &b;
            run_block(b);
            free(b.dyn);
            b.dyn = nullptr;
        }
        t_block = saved_b;
        cur_block = saved_v;
    }
}

} // namespace cuda_host
