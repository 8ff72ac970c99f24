"""bench/gpu_session.sh, rehearsed on the CPU execution layer: a GPU
session has minutes, so every stage that will run there (quick, peers,
extras) runs here first, on the same binaries built on the layer
(build/emu), with every shape shrunk and the PyTorch peers on the CPU
(GPU_SESSION_REHEARSAL=1). What it checks is the script: that every step
starts, that its output is parsed into the summary, that the ratios are
taken, and that the budget and preflight refuse what they should. The
numbers are the layer's, and mean nothing."""
import os
import re
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT

EMU = os.path.join(BUILD, "emu")
SCRIPT = os.path.join(ROOT, "bench", "gpu_session.sh")
NUM = r"[0-9]+(\.[0-9]+)?"


def bundle(tmp_path, monolab=os.path.join(EMU, "monolab-emu"), leave_out=()):
    """A bundle folder as `make gpu-bundle` lays it out, of the layer's binaries."""
    if not os.path.exists(os.path.join(EMU, "test_philox_curand")):
        pytest.skip("no CUDA toolkit here (curand_kernel.h): the Philox test, a step of the session, is not built")
    b = tmp_path / "bundle"
    (b / "gpu").mkdir(parents=True)
    (b / "bench").mkdir()
    links = {"monolab": monolab, "bench/bench_gpu": os.path.join(EMU, "bench_gpu")}
    for t in ("test_backend_ops", "test_embed_cuda", "test_philox_curand"):
        links["gpu/" + t] = os.path.join(EMU, t)
    for name, target in links.items():
        if name not in leave_out:
            os.symlink(target, b / name)
    # nvidia-smi's table goes to device.txt: a stand-in that says what this is
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\necho 'stand-in nvidia-smi: the CPU execution layer'\n")
    (bin_dir / "nvidia-smi").chmod(0o755)
    return b, bin_dir


def session(tmp_path, stage, b, bin_dir, **env):
    out = tmp_path / ("out_" + stage)
    e = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", OUT=str(out), GPU_SESSION_BUILD=str(b),
             GPU_SESSION_REHEARSAL="1", MONOLAB_GPU_QUICK="1", PYTHON=sys.executable, **env)
    r = subprocess.run(["bash", SCRIPT, stage], capture_output=True, text=True, env=e, timeout=900)
    summary = (out / "summary.txt").read_text() if (out / "summary.txt").exists() else ""
    return r, out, summary


def rows(summary):
    """The summary's rows as {label: result} (labels are padded to 44 columns)."""
    return {line[:44].rstrip(): line[45:] for line in summary.splitlines() if len(line) > 45 and line[44] == " "}


def test_quick_stage(tmp_path):
    b, bin_dir = bundle(tmp_path)
    r, out, summary = session(tmp_path, "quick", b, bin_dir)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert r.stdout.rstrip().endswith(summary.rstrip())  # the summary is printed last
    assert "stand-in nvidia-smi" in (out / "device.txt").read_text()
    got = rows(summary)
    for step in ("philox: host and device vs cuRAND", "backend ops vs CPU, trajectory, invariance",
                 "embed CUDA vs CPU", "monolab selftest --full"):
        assert re.fullmatch(r"PASS \(\d+ s\)", got[step]), (step, summary)
    paper = {k: v for k, v in got.items() if k.startswith("paper shape G=4 ")}
    assert len(paper) == 8, summary  # ref, fast, fast w/o lt, lt; tf32 and fp32
    for label, v in paper.items():
        assert re.fullmatch(rf"step_ms={NUM} model_steps_per_s={NUM} frac_of_gemm={NUM} ", v), (label, v)
    # the self-test's stamp went to the session's own cache, not the user's
    stamps = os.listdir(out / "cache" / "monolab")
    assert len(stamps) == 1 and "result: pass\n" in (out / "cache" / "monolab" / stamps[0]).read_text(), stamps


def test_bench_stages_take_every_ratio(tmp_path):
    b, bin_dir = bundle(tmp_path)
    r, out, summary = session(tmp_path, "bench", b, bin_dir)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    got = rows(summary)
    ratios = {k: v for k, v in got.items() if re.search(r": fast / ", k)}
    assert sorted(ratios) == sorted([
        "one model tf32: fast / authors' torch", "one model fp32: fast / authors' torch",
        "paper G=4 tf32: fast / torch.compile", "paper G=4 fp32: fast / torch.compile",
        "tiny k=4: fast / torch.compile", "tiny k=8: fast / torch.compile"]), summary
    for label, v in ratios.items():
        assert re.fullmatch(rf"{NUM}x", v), (label, v)
    peers = [v for k, v in got.items() if k.startswith(("authors' torch", "torch.compile batched"))]
    assert len(peers) == 6 and all(re.search(rf"model_steps_per_s={NUM}", v) for v in peers), summary
    # the batched peer says whether torch.compile ran (this PyTorch may predate it, or fail to compile)
    assert all(re.search(r"compiled=(yes|no|failed)", v) for k, v in got.items() if k.startswith("torch.compile")), summary
    # embed: timed against scikit-learn, and no neuron differs from the CPU backend
    assert "against the CPU backend: 0 neurons select other examples, 0 more cluster them otherwise" in summary
    assert re.search(r"^\| monolab embed \(cuda\), total", summary, re.M), summary
    for v in ("ref", "fast"):
        assert re.fullmatch(rf"one_after_another_s={NUM} side_by_side_s={NUM} speedup={NUM} ",
                            got[f"small groups side by side {v}"]), summary
    for c in ("LR1", "K1"):
        for p in ("fp32", "tf32"):
            assert re.fullmatch(r"PASS \(\d+ s\)", got[f"sweep {c} {p}"]), summary
            assert re.search(rf"^{c} {p} (lr|k)=", summary, re.M), summary
    assert re.fullmatch(r"PASS \(\d+ s\)", got["sweep K1 fp32 fast (streams)"]), summary


def test_budget_stops_starting_steps(tmp_path):
    """A stage's budget (here 30 s) kills the step that would overrun it and
    starts no more; what did not run is in the summary, and the exit is 1."""
    b, bin_dir = bundle(tmp_path)
    r, out, summary = session(tmp_path, "quick", b, bin_dir, GPU_SESSION_BUDGET_S="30")
    assert r.returncode == 1, r.stdout[-3000:]
    got = rows(summary)
    assert got["backend ops vs CPU, trajectory, invariance"].startswith("TIMEOUT (killed after ")
    skipped = [k for k, v in got.items() if v == "SKIPPED (stage budget of 30 s spent)"]
    assert "monolab selftest --full" in skipped and sum(k.startswith("paper shape") for k in skipped) == 8, summary
    assert r.stdout.rstrip().endswith(summary.rstrip())


def test_preflight_stops_a_bundle_without_a_gpu(tmp_path):
    """The plain build/monolab here has no GPU to use: the session stops at
    once with one row saying so, instead of every step failing minutes later."""
    b, bin_dir = bundle(tmp_path, monolab=os.path.join(BUILD, "monolab"))
    r, out, summary = session(tmp_path, "quick", b, bin_dir)
    assert r.returncode == 1
    assert re.fullmatch(r"preflight\s+FAIL: cuda backend: unavailable.*\n", summary), summary


def test_missing_binary_is_named(tmp_path):
    b, bin_dir = bundle(tmp_path, leave_out=("bench/bench_gpu",))
    r, out, summary = session(tmp_path, "quick", b, bin_dir)
    assert r.returncode == 2
    assert f"missing {b}/bench/bench_gpu: run 'make gpu-bundle'" in r.stdout


def test_batched_peer_times_the_eager_step_when_compiling_fails():
    """On the GPU machine torch.compile may lack Triton or a compiler: the
    peer then times the eager step and says compiled=failed, so its ratio
    row is still taken, and marked."""
    harness = ("import sys, torch\n"
               "def broken(f):\n"
               "    def call(*a, **k): raise RuntimeError('no Triton here')\n"
               "    return call\n"
               "torch.compile = broken\n"
               "sys.argv = ['torch_batched_step.py', '3', '4', '16', '4', '8', '32', '--compile']\n"
               "import torch_batched_step\n"
               "torch_batched_step.main()\n")
    r = subprocess.run([sys.executable, "-c", harness], capture_output=True, text=True,
                       cwd=os.path.join(ROOT, "bench", "peers"))
    assert r.returncode == 0, r.stderr
    assert "torch.compile failed, timing the eager step: RuntimeError: no Triton here" in r.stderr
    assert re.search(rf"compiled=failed G=4 .* model_steps_per_s={NUM}$", r.stdout.strip()), r.stdout


def test_preflight_finds_cuda_libraries_off_the_build_path(tmp_path):
    """A GPU machine whose cuBLAS is not where the build's toolkit was: the
    preflight finds the same soname under its search roots (here a stand-in
    library, libcu..., that no loader path holds) and uses that folder."""
    b, bin_dir = bundle(tmp_path)
    lib = tmp_path / "roots" / "toolkit" / "lib64"
    lib.mkdir(parents=True)
    (tmp_path / "lib.c").write_text("int ml_stub_cuda_version(void) { return 13; }\n")
    (tmp_path / "main.c").write_text('#include <stdio.h>\nint ml_stub_cuda_version(void);\n'
                                     'int main(void) { printf("cuda backend: stand-in, library %d\\n", '
                                     'ml_stub_cuda_version()); return 0; }\n')
    subprocess.run(["cc", "-shared", "-fPIC", "-Wl,-soname,libcustub_ml.so.13", "-o", str(lib / "libcustub_ml.so.13"),
                    str(tmp_path / "lib.c")], check=True)
    os.unlink(b / "monolab")
    subprocess.run(["cc", str(tmp_path / "main.c"), "-o", str(b / "monolab"), "-L", str(lib), "-l:libcustub_ml.so.13"],
                   check=True)
    assert "not found" in subprocess.run(["ldd", str(b / "monolab")], capture_output=True, text=True).stdout
    r, out, summary = session(tmp_path, "preflight", b, bin_dir, GPU_SESSION_LIB_ROOTS=str(tmp_path / "roots"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"CUDA libraries found outside the build's toolkit path: LD_LIBRARY_PATH={lib}" in r.stdout
    assert "cuda backend: stand-in, library 13" in r.stdout
    assert rows(summary) == {"preflight": "PASS"}
    # and without the right roots, the preflight names what is missing
    r, out, summary = session(tmp_path, "preflight", b, bin_dir, GPU_SESSION_LIB_ROOTS=str(tmp_path / "bin"))
    assert r.returncode == 1 and "libcustub_ml.so.13 => not found" in r.stdout, r.stdout
    assert rows(summary) == {"preflight": "FAIL: libraries not found (see log.txt)"}
