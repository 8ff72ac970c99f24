import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


@pytest.fixture
def monolab():
    return os.path.join(BUILD, "monolab")


@pytest.fixture
def refdump():
    return os.path.join(BUILD, "tests", "refdump")
