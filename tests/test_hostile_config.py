"""Hostile configs and overrides: every one exits 2 with exactly one line
that says what is wrong (and where), and nothing is trained or written."""
import os
import tempfile

import pytest

from conftest import run

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

CASES = [
    # (config bytes, overrides, expected substring of the one line)
    (b"", [], "cfg.yaml: the config is empty"),
    (b"# a comment\n\n   # another\n", [], "cfg.yaml: the config is empty"),
    (b"- 1\n- 2\n", [], "cfg.yaml:1: a config must be a mapping of keys, got a list"),
    (b"42\n", [], "cfg.yaml:1: a config must be a mapping of keys, got a single value"),
    (LAUGHS.encode(), [], "cfg.yaml:2: YAML aliases (*name) are not supported"),
    (b"model:\n  k: " + b"[" * 100000 + b"]" * 100000 + b"\n", [], "cfg.yaml:2: nesting deeper than 32 levels"),
    (b"model:\n  k: 99999999999999999999999\n", [], "cfg.yaml:2: 'model.k' must be an integer"),
    (b"train:\n  lr: 1e999\n", [], "cfg.yaml:2: 'train.lr' must be a finite number, got '1e999'"),
    (b"train:\n  lr: .nan\n", [], "cfg.yaml:2: 'train.lr' must be a finite number, got '.nan'"),
    (b"train:\n  lr: nan\n", [], "cfg.yaml:2: 'train.lr' must be a finite number, got 'nan'"),
    (b"model:\n  bias_offset: -.inf\n", [], "cfg.yaml:2: 'model.bias_offset' must be a finite number"),
    (b"model:\n  k: 8\n  N: 16\n  k: 16\n", [], "cfg.yaml:4: duplicate key 'k' (first at line 2)"),
    (b"seeds: 1000001\n", [], "the grid expands to 1000001 runs, more than max_runs = 1000000; if you mean it"),
    (b"seeds: 1000\nmodel:\n  k: [" + b", ".join(b"%d" % k for k in range(1, 1002)) + b"]\n", [],
     "the grid expands to 1001000 runs, more than max_runs = 1000000; if you mean it, raise the limit "
     "(max_runs: N in the config, or the override max_runs=N)"),
    (b"seeds: 11\nmax_runs: 10\n", [], "the grid expands to 11 runs, more than max_runs = 10"),
    (b"max_runs: lots\n", [], "'max_runs' must be an integer"),
    (b"name: caf\xe9\n", [], "cfg.yaml:1: YAML syntax error: incomplete UTF-8 octet sequence"),
    (b"name: \xff\xfe\n", [], "cfg.yaml:1: YAML syntax error: invalid leading UTF-8 octet"),
    # overrides get the same treatment
    (b"task: decoder\n", ["model.k="], "override 'model.k=' has an empty value"),
    (b"task: decoder\n", ["=3"], "override '=3' must look like key=value"),
    (b"task: decoder\n", ["model..k=3"], "override 'model..k=3': unknown key 'model..k'"),
    (b"task: decoder\n", ["seeds=-1"], "command-line override: 'seeds' must be a count >= 1"),
    (b"task: decoder\n", ["train.lr=.inf"], "command-line override: 'train.lr' must be a finite number"),
    (b"task: decoder\n", ["model.k=[1,\n2"], "YAML syntax error"),  # a newline in the value: still one line
    (b"task: decoder\n", [b"model.k=\xff"], "override 'model.k=?':1: YAML syntax error: invalid leading UTF-8 octet"),
    (b"model: [1]\n", ["model.k=3"], "override 'model.k=3': 'model' is not a mapping in the config (line 1)"),
]


@pytest.mark.parametrize("text,over,msg", CASES, ids=range(len(CASES)))
def test_hostile_config_exits_2_with_one_line(monolab, text, over, msg):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "cfg.yaml"), "wb") as f:
            f.write(text)
        out = os.path.join(d, "out")
        r = run([monolab, "sweep", "cfg.yaml", *over, "-o", out, "--device", "cpu"], cwd=d, timeout=60)
        assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr[-2000:]
        assert lines[0].startswith("monolab: ") and msg in lines[0], lines[0]
        assert not os.path.exists(out), "nothing may be written for a refused config"


def test_raised_max_runs_and_explicit_empty_mapping_are_accepted(monolab):
    """The limit is a guard, not a wall: raising it works, and is not part of
    the resolved config (so raising it never blocks a --resume). `{}` is the
    explicit way to ask for all defaults."""
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "cfg.yaml")
        with open(cfg, "w") as f:
            f.write("seeds: 11\nmax_runs: 10\nmodel:\n  N: 16\n  m: 4\n  k: 8\n")
        r = run([monolab, "sweep", cfg, "max_runs=11", "--dry-run", "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        assert "11 runs in 1 groups" in r.stderr
        with open(cfg, "w") as f:
            f.write("{}\n")
        r = run([monolab, "sweep", cfg, "--dry-run", "--device", "cpu"])
        assert r.returncode == 0, r.stderr
        assert "1 runs in 1 groups" in r.stderr
