import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))  # the monolab package, as `pip install -e python` would


# A tiny sweep: 2 widths x 2 bias offsets x 2 seeds, 64 steps; seconds to run.
TINY = """\
name: tiny
seeds: 2
task: decoder
model:
  N: 16
  m: 4
  k: [8, 16]
  bias_offset: [0.0, -1.0]
data:
  eps: 0.125
train:
  steps: 64
  batch: 32
  lr: 0.01
eval:
  batch: 64
checkpoints: log2
"""


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def ok(r):
    """A finished command that must have succeeded; its result, for chaining."""
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(autouse=True, scope="session")
def own_user_cache(tmp_path_factory):
    """The tests' own user cache folder: what monolab caches there (training
    rates, self-test stamps) must neither come from the tester's earlier runs
    nor be left to them. A fresh machine is what CI is."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))


@pytest.fixture
def monolab():
    return os.path.join(BUILD, "monolab")


@pytest.fixture
def refdump():
    return os.path.join(BUILD, "tests", "refdump")


def run_id(outdir, i=0):
    """The id of the i-th row of a sweep's runs.csv (run ids are hashes of
    the settings; the rows are in the order the groups trained)."""
    with open(os.path.join(str(outdir), "runs.csv")) as f:
        return f.read().splitlines()[1 + i].split(",")[0]
