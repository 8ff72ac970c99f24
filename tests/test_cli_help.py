"""Every command answers --help with exit 0, and its usage is the same in
`monolab --help`, in `monolab CMD --help` and in README.md's CLI block, so
none of the three can drift from the others."""
import os
import re

import pytest

from conftest import ROOT, run


def norm(text):
    return re.sub(r"\s+", " ", text).strip()


def readme_cli():
    """README.md's "The CLI" block: {command: its usage, whitespace folded}."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = text.split("## The CLI", 1)[1].split("```", 2)[1]
    entries = re.split(r"^monolab ", block, flags=re.M)[1:]
    return {e.split()[0]: norm("monolab " + e) for e in entries}


def table(monolab):
    r = run([monolab, "--help"])
    assert r.returncode == 0, r.stderr
    entries = re.split(r"^  monolab ", r.stdout.split("\n\n")[0], flags=re.M)[1:]
    return {e.split()[0]: norm("monolab " + e) for e in entries}


def test_readme_lists_every_command(monolab):
    assert sorted(readme_cli()) == sorted(table(monolab))
    assert len(readme_cli()) == 11


@pytest.mark.parametrize("cmd", ["sweep", "merge", "slurm", "embed", "explore", "sae", "plot", "analyze", "selftest",
                                 "watch"])
def test_help_exits_0_and_agrees_with_the_table_and_readme(monolab, cmd):
    for flag in ("--help", "-h"):
        r = run([monolab, cmd, flag])
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"usage: monolab {cmd} "), r.stdout
        usage = norm(r.stdout.split("\n\n")[0][len("usage: "):])
        assert usage == table(monolab)[cmd]
        assert usage == readme_cli()[cmd]
        assert len(r.stdout.split("\n\n")) > 1, "--help says what the command does, not only its usage"


@pytest.mark.parametrize("args,msg", [
    (["analyze", "x.safetensors", "--samples", "1e4x"], "analyze: --samples must be a number in [1, 1e+08], got '1e4x'"),
    (["analyze", "x.safetensors", "--frob", "1"], "analyze: unknown option '--frob'"),
    (["analyze", "x.safetensors", "--samples"], "analyze: missing value after --samples"),
    (["embed", "x.safetensors", "--act-frac", "2"], "embed: --act-frac must be a number in [0, 1], got '2'"),
    (["plot", "--frob"], "plot: unknown option '--frob'"),
    (["explore", "--frob"], "explore: unknown option '--frob'"),
])
def test_bad_options_exit_2_naming_them(monolab, tmp_path, args, msg):
    r = run([monolab, *args], cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and msg in r.stderr, r.stderr
    assert os.listdir(tmp_path) == []


COMMANDS = ["sweep", "merge", "slurm", "embed", "explore", "sae", "plot", "analyze"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_one_parser_one_set_of_usage_errors(monolab, tmp_path, cmd):
    """Every command parses its options the same way and says so the same way."""
    r = run([monolab, cmd, "x", "--frob"], cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == f"monolab: {cmd}: unknown option '--frob' (see monolab {cmd} --help)\n", r.stderr
    if cmd not in ("merge", "plot"):  # the commands with -o
        r = run([monolab, cmd, "x", "-o"], cwd=tmp_path)
        assert r.returncode == 2 and r.stderr == f"monolab: {cmd}: missing value after -o (see monolab {cmd} --help)\n", r.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("cmd,opt", [("sweep", "--device=cpu"), ("embed", "--device=cpu"), ("embed", "--samples=10"),
                                     ("analyze", "--samples=10"), ("explore", "--input=y"), ("sae", "--out=o"),
                                     ("slurm", "--shards=2"), ("plot", "--runs=r000000")])
def test_opt_equals_value_everywhere(monolab, tmp_path, cmd, opt):
    """`--opt=value` is `--opt value` in every command: the error is about the
    missing input file, never about the option."""
    r = run([monolab, cmd, "missing.x", opt], cwd=tmp_path)
    assert r.returncode == 2 and "missing.x" in r.stderr and "option" not in r.stderr and "value" not in r.stderr, r.stderr


def test_flag_takes_no_value(monolab, tmp_path):
    r = run([monolab, "sweep", "x.yaml", "--resume=yes"], cwd=tmp_path)
    assert r.returncode == 2 and "sweep: this option takes no value: --resume=yes" in r.stderr, r.stderr
