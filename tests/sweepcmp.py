"""Comparing a merged sharded sweep with a one-node run of the same config:
runs.csv equal apart from `seconds` (the merged rows in grid order), and
every loss log and checkpoint byte for byte."""
import csv
import os


def rows(path):
    """runs.csv as (header, rows), the `seconds` column dropped."""
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    assert table[0][-1] == "seconds", table[0]
    return table[0][:-1], [r[:-1] for r in table[1:]]


def files(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def assert_same_sweep(one_node, merged):
    h1, r1 = rows(os.path.join(one_node, "runs.csv"))
    h2, r2 = rows(os.path.join(merged, "runs.csv"))
    assert h1 == h2
    assert sorted(r[0] for r in r1) == sorted(r[0] for r in r2), "the same runs"
    assert len(r1) == len(r2) and r1, (len(r1), len(r2))
    assert sorted(r1) == sorted(r2), "merged runs.csv differs from the one-node run"
    for sub in ("loss", "ckpt"):
        a, b = files(os.path.join(one_node, sub)), files(os.path.join(merged, sub))
        assert sorted(a) == sorted(b), f"{sub}/ holds other files"
        bad = [k for k in a if a[k] != b[k]]
        assert not bad, f"{sub}/ files differ: {bad[:5]}"
