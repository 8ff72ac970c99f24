"""What every `make bench` script prints around its rows, so that a number
can be judged by the conditions it was measured under: the CPU model, the
thread count, the load average before and after (with a warning when other
work shared the cores), and each row as the median and the min-max of its
interleaved runs. A best-of-N hides how much the runs moved, and on a
shared machine that spread is most of what a reader needs to know."""
import os
import platform
import statistics

# Above this 1-minute load per core, other processes held a core for a
# sizeable part of the run and the numbers measure the sharing too.
QUIET_LOAD_PER_CORE = 0.5


def cores():
    return len(os.sched_getaffinity(0))


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


class Conditions:
    """Load average at construction (before) and at report() (after)."""

    def __init__(self, title):
        self.title = title
        self.before = os.getloadavg()[0]
        print(f"{title}: CPU {cpu_model()}; {cores()} cores, {threads()} threads; "
              f"load average {self.before:.2f} before", flush=True)

    def report(self, own=None):
        """own: the busy threads the benchmark itself keeps running (its
        own threads, and any busy processes it starts on purpose; default
        threads()). They count in the load average after, so the check
        subtracts them: what is left is other work."""
        own = threads() if own is None else own
        after = os.getloadavg()[0]
        print(f"{self.title}: load average {self.before:.2f} before, {after:.2f} after, of which up to {own} "
              f"this benchmark's own busy threads ({cores()} cores)", flush=True)
        worst = max(self.before, after - own) / cores()
        if worst > QUIET_LOAD_PER_CORE:
            print(f"WARNING: other work's load reached {worst:.2f} per core (> {QUIET_LOAD_PER_CORE}): the machine "
                  "was shared, so these numbers measure the sharing too; rerun when it is quiet", flush=True)


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
