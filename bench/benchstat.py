"""What every `make bench` script prints around its rows, so that a number
can be judged by the conditions it was measured under: the CPU model, the
thread count, how busy other work kept the cores before and after (with a
warning when it shared them), and each row as the median and the min-max
of its interleaved runs. A best-of-N hides how much the runs moved, and on
a shared machine that spread is most of what a reader needs to know."""
import os
import platform
import statistics
import time

# Above this share of the cores kept busy by other work, other processes
# held a core for a sizeable part of the time (one busy process on 2
# cores is 50%) and the numbers measure the sharing too. A quiet machine
# stays at a few percent.
QUIET_SHARE = 0.25
# How long each check watches the CPUs: long enough that a few stray
# jiffies do not count, short beside any benchmark.
WINDOW_S = 1.0


def cpus():
    """The CPUs this process (and the benchmarks it starts) may run on."""
    return set(os.sched_getaffinity(0))


def cores():
    return len(cpus())


def threads():
    """The OpenMP threads a benchmarked process gets (monolab and the peers
    read the same variable)."""
    return int(os.environ.get("OMP_NUM_THREADS") or cores())


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_proc_stat():
    with open("/proc/stat") as f:
        return f.read()


def own_cpu_seconds():
    """CPU time of this process and of the children it has waited for (every
    benchmark run is a waited-for child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def busy_jiffies(stat, which):
    """(busy, total) jiffies of the CPUs in which, from /proc/stat text: its
    cpuN lines' first eight fields (user nice system idle iowait irq softirq
    steal; guest time is already in user), idle and iowait being idle."""
    busy = total = 0
    for line in stat.splitlines():
        name, *fields = line.split()
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in which):
            continue
        v = [int(x) for x in fields[:8]]
        total += sum(v)
        busy += sum(v) - v[3] - v[4]
    return busy, total


def sample():
    return read_proc_stat(), own_cpu_seconds()


def other_work(before, after, which):
    """The share of the CPUs in which that other processes kept busy between
    two samples: their busy time less this process's own (and its
    children's), over the time that passed. Unlike the load average, which
    decays over a minute, it sees only what ran in between."""
    (stat0, own0), (stat1, own1) = before, after
    b0, t0 = busy_jiffies(stat0, which)
    b1, t1 = busy_jiffies(stat1, which)
    if t1 <= t0:
        return 0.0
    own = (own1 - own0) * os.sysconf("SC_CLK_TCK")
    return min(1.0, max(0.0, (b1 - b0 - own) / (t1 - t0)))


def other_work_now():
    """other_work over the next WINDOW_S seconds, on this process's CPUs."""
    first = sample()
    time.sleep(WINDOW_S)
    return other_work(first, sample(), cpus())


class Conditions:
    """Other work on the cores at construction (before) and at report()
    (after the benchmark's own runs ended), each over WINDOW_S seconds."""

    def __init__(self, title):
        self.title = title
        self.before = other_work_now()
        print(f"{title}: CPU {cpu_model()}; {cores()} cores, {threads()} threads; other work kept "
              f"{self.before:.0%} of the cores busy before", flush=True)

    def report(self):
        after = other_work_now()
        print(f"{self.title}: other work kept {self.before:.0%} of the cores busy before, {after:.0%} after "
              f"(busy CPU over {WINDOW_S:g} s from /proc/stat, this benchmark's own time taken out; "
              f"load average {os.getloadavg()[0]:.2f}, which still counts work that ended within a minute)",
              flush=True)
        worst = max(self.before, after)
        if worst > QUIET_SHARE:
            print(f"WARNING: other work kept {worst:.0%} of the cores busy (> {QUIET_SHARE:.0%}): the machine was "
                  "shared, so these numbers measure the sharing too; rerun when it is quiet", flush=True)


def spread(values, fmt="{:.1f}"):
    """'median [min-max]' of a row's runs."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def kv(line):
    """A benchmark's `key=value key=value` line: numbers as floats, words (peer=authors) as they are."""
    def value(v):
        try:
            return float(v)
        except ValueError:
            return v
    return {k: value(v) for k, v in (p.split("=", 1) for p in line.split())}
