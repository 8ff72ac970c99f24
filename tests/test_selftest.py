"""`monolab selftest`, the per-device stamp and `--device auto`'s choice,
on the CPU execution layer: build/emu/monolab-emu is monolab whose CUDA
device is the emulated one (tests/cuda_host), so the whole flow runs here:
a pass writes the stamp and auto uses the device; a failing case
(MONOLAB_TEST_SELFTEST=perturb) or a crash (=abort) makes auto fall back to
the CPU with a one-line reason; a stale stamp (another build, another
driver) is ignored; build/monolab without a device never runs or records
a self-test."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, TINY

EMU = os.path.join(BUILD, "emu", "monolab-emu")
MONOLAB = os.path.join(BUILD, "monolab")


def run(binary, *args, cache, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("MONOLAB_KERNELS", "MONOLAB_TEST_SELFTEST")}
    env.update(XDG_CACHE_HOME=str(cache), **(env_extra or {}))
    return subprocess.run([binary, *args], capture_output=True, text=True, env=env)


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(TINY.replace("steps: 64", "steps: 16"))
    return str(p)


def stamps(cache):
    d = cache / "monolab"
    return sorted(d.glob("selftest-*.txt")) if d.exists() else []


def test_cpu_selftest_passes_and_can_fail(tmp_path):
    r = run(MONOLAB, "selftest", "--device", "cpu", cache=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    cases = [l for l in r.stdout.splitlines() if l.startswith("  ok ")]
    assert len(cases) == 8 and all("bit-identical" in l for l in cases)
    assert r.stdout.splitlines()[-1].startswith("selftest passed: 8 cases passed")
    assert not stamps(tmp_path)  # the CPU has no stamp
    # the check is real: a perturbed result on the device side fails it, naming the case
    r = run(MONOLAB, "selftest", "--device", "cpu", cache=tmp_path, env_extra={"MONOLAB_TEST_SELFTEST": "perturb"})
    assert r.returncode == 1
    assert re.search(r"selftest failed: FAILED \d of 8 cases; first: ops decoder relu lamb fp32 .*: H, model \d", r.stdout)


def test_pass_writes_the_stamp_and_auto_uses_the_device(tmp_path, cfg):
    assert os.path.exists(EMU), "build/emu/monolab-emu is missing: `make emu`"
    r = run(EMU, "selftest", cache=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "worst error" in r.stdout and "selftest passed: 8 cases passed" in r.stdout
    (st,) = stamps(tmp_path)
    text = st.read_text()
    for key in ("monolab-build:", "gpu: cuda_host", "uuid:", "compute-capability: 9.0", "driver: 13000",
                "runtime: 13000", "kernels: ref", "result: pass", "date:", "summary: 8 cases passed"):
        assert key in text, key
    info = run(EMU, "info", cache=tmp_path).stdout
    assert "self-test: passed on" in info and "--device auto uses this GPU" in info
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out"), cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "on the cuda backend" in r.stderr and "first use" not in r.stderr
    # another kernel variant set is another key: not covered by this stamp
    r = run(EMU, "info", cache=tmp_path, env_extra={"MONOLAB_KERNELS": "fast"})
    assert "self-test: none" in r.stdout


def test_no_stamp_auto_runs_the_quick_selftest_first(tmp_path, cfg):
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out"), cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "first use of this GPU by this build" in r.stderr
    assert "passed its self-test" in r.stderr and "on the cuda backend" in r.stderr
    assert len(stamps(tmp_path)) == 1 and "result: pass" in stamps(tmp_path)[0].read_text()
    assert (tmp_path / "monolab" / "selftest-last.log").read_text().count("  ok ") == 8


@pytest.mark.parametrize("mode,reason", [("perturb", r"FAILED \d of 8 cases; first: ops "),
                                         ("abort", r"the self-test crashed \(signal 6\)")])
def test_failed_or_crashed_selftest_falls_back_to_the_cpu(tmp_path, cfg, mode, reason):
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out"), cache=tmp_path, env_extra={"MONOLAB_TEST_SELFTEST": mode})
    assert r.returncode == 0, r.stderr  # the user's command is not taken down
    lines = [l for l in r.stderr.splitlines() if "using the CPU" in l]
    assert len(lines) == 1 and re.search(reason, lines[0]) and "monolab selftest --device cuda" in lines[0]
    assert "on the cpu backend" in r.stderr
    assert "result: fail" in stamps(tmp_path)[0].read_text()
    # the failure is remembered: the next command does not rerun it, and says why in one line
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out2"), cache=tmp_path)
    assert "first use" not in r.stderr and "the GPU failed its self-test on" in r.stderr
    # --device cuda still runs on the device, with a warning
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out3"), "--device", "cuda", cache=tmp_path)
    assert r.returncode == 0 and "warning: --device cuda on a GPU that FAILED its self-test" in r.stderr
    assert "on the cuda backend" in r.stderr


def test_stale_stamps_are_ignored(tmp_path, cfg):
    assert run(EMU, "selftest", cache=tmp_path).returncode == 0
    (st,) = stamps(tmp_path)
    # another driver: the file's key no longer matches this machine's
    st.write_text(st.read_text().replace("driver: 13000", "driver: 12040"))
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "a"), cache=tmp_path)
    assert "first use of this GPU by this build" in r.stderr
    # another build: a changed executable has another build id
    other = tmp_path / "monolab-other"
    shutil.copy(EMU, other)
    with open(other, "ab") as f:
        f.write(b"\0another build")
    r = run(str(other), "sweep", cfg, "-o", str(tmp_path / "b"), cache=tmp_path)
    assert "first use of this GPU by this build" in r.stderr
    assert len({p.name for p in stamps(tmp_path)}) == 2


def test_device_cuda_without_stamp_warns(tmp_path, cfg):
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out"), "--device", "cuda", cache=tmp_path)
    assert r.returncode == 0
    assert "warning: --device cuda on a GPU that has not passed a self-test with this build" in r.stderr
    assert not stamps(tmp_path)  # --device cuda never runs the self-test on its own


def test_no_device_never_tests_or_records(tmp_path, cfg):
    r = run(MONOLAB, "sweep", cfg, "-o", str(tmp_path / "out"), cache=tmp_path)
    assert r.returncode == 0 and "self-test" not in r.stderr and "on the cpu backend" in r.stderr
    r = run(EMU, "sweep", cfg, "-o", str(tmp_path / "out2"), cache=tmp_path, env_extra={"CUDA_HOST_DEVICES": "0"})
    assert r.returncode == 0 and "self-test" not in r.stderr and "on the cpu backend" in r.stderr
    assert not stamps(tmp_path)
    r = run(MONOLAB, "selftest", "--device", "cuda", cache=tmp_path)
    assert r.returncode == 2 and "selftest --device cuda:" in r.stderr


def test_cached_reuses_the_recorded_verdict(tmp_path):
    r = run(EMU, "selftest", "--cached", cache=tmp_path)  # none recorded: it runs
    assert r.returncode == 0 and r.stdout.count("  ok ") == 8
    r = run(EMU, "selftest", "--cached", cache=tmp_path)
    assert r.returncode == 0 and "  ok " not in r.stdout
    assert r.stdout.startswith("selftest passed (recorded ") and "8 cases passed" in r.stdout
    st = stamps(tmp_path)[0]
    st.write_text(st.read_text().replace("result: pass", "result: fail"))
    assert run(EMU, "selftest", "--cached", cache=tmp_path).returncode == 1


def test_slurm_task_checks_its_gpu_before_training(tmp_path, cfg):
    """The task script of `monolab slurm` runs the cached self-test where
    nvidia-smi finds a GPU (here a stand-in on PATH, the emulated device
    behind it), then trains; where none is found it goes straight on."""
    out = tmp_path / "sweep"
    r = run(EMU, "slurm", cfg, "--shards", "1", "-o", str(out), cache=tmp_path)
    assert r.returncode == 0, r.stderr
    script = (out / "slurm" / "sweep.sbatch").read_text()
    assert script.index("selftest --quick --cached") < script.index("--shard auto --resume")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 'GPU 0: stand-in'\n")
    (fake / "nvidia-smi").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "1",
           "SLURM_ARRAY_JOB_ID": "1"}
    r = run("bash", str(out / "slurm" / "sweep.sbatch"), cache=tmp_path, env_extra=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("  ok ") == 8 and "selftest passed" in r.stdout
    assert "on the cuda backend" in r.stderr  # auto then trusts the checked GPU
    r = run("bash", str(out / "slurm" / "sweep.sbatch"), cache=tmp_path,
            env_extra=dict(env, PATH=os.environ["PATH"]))  # no nvidia-smi: no check
    assert r.returncode == 0 and "selftest" not in r.stdout


@pytest.mark.parametrize("order", ["split", "align"])
def test_passes_with_another_gemm_summation_order(tmp_path, order):
    """cuBLAS sums its GEMMs in another order than OpenBLAS, and picks its
    kernels (so its order) by its operands' alignment: the self-test's
    tolerances (include/monolab/twin_tolerance.h) must hold against the
    first, and a model's bits must not depend on its place in a group under
    the second, or a correct GPU would be refused. The layer's cuBLAS sums
    every GEMM in two halves (split), or only the GEMMs with an operand less
    than 16-byte aligned (align: the group invariance case, a model of
    n_param 3239 as member 3 of 7, failed so before the device's parameter
    stride was padded, kernels/train_kernels.cuh ml_ld_param). make test-emu
    runs --full and the op test so too."""
    r = run(EMU, "selftest", "--quick", cache=tmp_path, env_extra={"CUDA_HOST_GEMM_ORDER": order})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "selftest passed: 8 cases passed" in r.stdout
    assert re.search(r"  ok    group invariance .* bit-identical", r.stdout), r.stdout
    if order == "split":  # the order really differs: the fp32 ops are no longer bit-identical to the CPU's
        fp32_ops = [l for l in r.stdout.splitlines() if l.startswith("  ok    ops ") and " fp32 " in l]
        assert fp32_ops and all("worst error" in l and "worst error 0 " not in l for l in fp32_ops), r.stdout
