"""Every CUDA source runs on the CPU execution layer only if it uses the
source forms of kernels/launch.cuh: no `<<<...>>>` launch, no
`extern __shared__`, and every static `__shared__` declaration followed on
its line by ML_POISON_SHARED(name), which gives it a fresh poison when a
block starts (without it, a block would see what the previous block left,
and a missing write or barrier could pass)."""
import glob
import os
import re

from conftest import ROOT

SOURCES = sorted(glob.glob(os.path.join(ROOT, "kernels", "*.cu")) + glob.glob(os.path.join(ROOT, "kernels", "*.cuh"))
                 + glob.glob(os.path.join(ROOT, "tests", "gpu", "*.cu")) + glob.glob(os.path.join(ROOT, "bench", "*.cu"))
                 + glob.glob(os.path.join(ROOT, "tests", "cuda_host", "*.cu")))


def code_lines(path):
    for n, line in enumerate(open(path), 1):
        yield n, line.split("//")[0]


def test_sources_found():
    names = {os.path.basename(p) for p in SOURCES}
    assert {"train_kernels.cu", "backend_cuda.cu", "embed_cuda.cu", "lt_epilogue.cu"} <= names


def test_no_plain_launch_or_extern_shared():
    bad = [f"{os.path.relpath(p, ROOT)}:{n}: {l.strip()}" for p in SOURCES if not p.endswith("launch.cuh")
           for n, l in code_lines(p) if "<<<" in l or re.search(r"extern\s+__shared__", l)]
    assert not bad, "use ML_LAUNCH / ML_DYN_SHARED (kernels/launch.cuh):\n" + "\n".join(bad)


def test_static_shared_poisoned():
    bad = []
    for p in SOURCES:
        if p.endswith("launch.cuh"):
            continue
        for n, l in code_lines(p):
            m = re.match(r"\s*__shared__\s+[\w\s\*]+?\s(\w+)\s*(\[[^\]]*\]\s*)*;(.*)", l)
            if m and f"ML_POISON_SHARED({m.group(1)})" not in m.group(3):
                bad.append(f"{os.path.relpath(p, ROOT)}:{n}: {l.strip()}")
    assert not bad, "add ML_POISON_SHARED(name) after each static __shared__ declaration:\n" + "\n".join(bad)


def test_the_check_sees_a_bad_line(tmp_path):
    """The patterns above match the forms they must refuse."""
    line = "    __shared__ float tile[32][33];\n"
    m = re.match(r"\s*__shared__\s+[\w\s\*]+?\s(\w+)\s*(\[[^\]]*\]\s*)*;(.*)", line)
    assert m and m.group(1) == "tile" and "ML_POISON_SHARED(tile)" not in m.group(3)
    assert "<<<" in "k<<<1, 2>>>(x);"
