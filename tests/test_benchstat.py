"""bench/benchstat.py's check of other work on the machine, which every
`make bench` script prints around its rows: it must measure what runs now
(busy CPU over a short window of /proc/stat, the benchmark's own CPU time
taken out), not the 1-minute load average, which still holds the previous
benchmark script's threads for a minute after they ended. Fed fake
/proc/stat snapshots and fake own CPU times."""
import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import benchstat  # noqa: E402


def snapshot(*cpus):
    """/proc/stat text with one line per CPU: (busy, idle) jiffies each, the
    busy ones spread over user, system and softirq, idle over idle and iowait."""
    lines, total = [], [0] * 10
    for busy, idle in cpus:
        v = [busy - busy // 2 - busy // 4, 0, busy // 2, idle - idle // 10, idle // 10, 0, busy // 4, 0, 0, 0]
        lines.append(v)
        total = [a + b for a, b in zip(total, v)]
    text = "cpu  " + " ".join(map(str, total)) + "\n"
    text += "".join(f"cpu{i} " + " ".join(map(str, v)) + "\n" for i, v in enumerate(lines))
    return text + "intr 1 2 3\nctxt 42\nprocs_running 1\n"


HZ = os.sysconf("SC_CLK_TCK")


def test_other_work_is_busy_cpu_less_our_own():
    quiet = (snapshot((1000, 5000), (1000, 5000)), 0.0)
    # one second (HZ jiffies a CPU) later: CPU 0 fully busy, CPU 1 idle
    later = snapshot((1000 + HZ, 5000), (1000, 5000 + HZ))
    assert benchstat.other_work(quiet, (later, 0.0), {0, 1}) == pytest.approx(0.5)
    # ... all of it our own process's (or its children's) CPU time: no other work
    assert benchstat.other_work(quiet, (later, 1.0), {0, 1}) == pytest.approx(0.0)
    # only the CPUs this process may run on count
    assert benchstat.other_work(quiet, (later, 0.0), {1}) == pytest.approx(0.0)
    assert benchstat.other_work(quiet, (later, 0.0), {0}) == pytest.approx(1.0)
    # no time passed (a coarse clock): nothing measured, nothing claimed
    assert benchstat.other_work(quiet, quiet, {0, 1}) == 0.0


def fake_machine(monkeypatch, busy_per_cpu, load_average):
    """Two CPUs, each busy for the given share of every window; the load
    average reads load_average whatever runs now."""
    clock = {"n": 0}

    def read_stat():
        clock["n"] += 1
        t = clock["n"] * HZ
        b = int(busy_per_cpu * t)
        return snapshot((b, t - b), (b, t - b))

    monkeypatch.setattr(benchstat, "read_proc_stat", read_stat, raising=False)
    monkeypatch.setattr(benchstat, "own_cpu_seconds", lambda: 0.0, raising=False)
    monkeypatch.setattr(benchstat, "cpus", lambda: {0, 1}, raising=False)
    monkeypatch.setattr("time.sleep", lambda s: None)
    monkeypatch.setattr(os, "getloadavg", lambda: (load_average, load_average, load_average))


def run_conditions():
    c = benchstat.Conditions("bench")
    c.report()


def test_a_quiet_machine_after_another_benchmark_is_not_reported_loaded(monkeypatch, capsys):
    # the previous script's two threads ended a moment ago: the load average still says 2 on 2 cores
    fake_machine(monkeypatch, busy_per_cpu=0.02, load_average=2.0)
    run_conditions()
    out = capsys.readouterr().out
    assert "WARNING" not in out, out
    assert "other work kept 2% of the cores busy before, 2% after" in out, out


def test_a_loaded_machine_is_reported(monkeypatch, capsys):
    fake_machine(monkeypatch, busy_per_cpu=0.9, load_average=0.0)
    run_conditions()
    out = capsys.readouterr().out
    assert "WARNING: other work kept 90% of the cores busy" in out, out
