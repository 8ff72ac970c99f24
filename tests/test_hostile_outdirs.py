"""Output folders under concurrent, killed and repeated commands (issue: no
injection, no clobbering): embed, sae and explore take the sweep's lock; an
explorer site and plot's figures are built beside their target and swapped
in, so a killed build leaves the old one and a rebuild keeps nothing stale;
a re-run leaves the folder as a first run into an empty one would."""
import fcntl
import os
import shutil

import pytest

import site_data
from conftest import run, run_id, ok
from test_sae_cli import TINY as SAE_TINY, write_dataset

TOY = ("seeds: 1\nmodel:\n  N: 32\n  m: 8\n  k: 48\ndata:\n  eps: 0.125\n"
       "train:\n  steps: 300\n  batch: 64\n  lr: 0.01\neval:\n  batch: 64\ncheckpoints: final\n")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    (d / "t.yaml").write_text(TOY)
    mono = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "monolab")
    ok(run([mono, "sweep", str(d / "t.yaml"), "-o", str(d / "s"), "--device", "cpu"]))
    ck = d / "s/ckpt" / run_id(d / "s") / "step_000300.safetensors"
    ok(run([mono, "embed", str(ck), "-o", str(d / "e"), "--samples", "2000", "--device", "cpu"]))
    return d, ck


def held(out):
    """The lock as another monolab command holds it."""
    os.makedirs(out, exist_ok=True)
    f = open(os.path.join(out, ".monolab.lock"), "w")
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    f.write("4242\n")
    f.flush()
    return f


def test_embed_and_sae_take_the_lock(monolab, toy, tmp_path):
    _, ck = toy
    out = tmp_path / "e"
    with held(out):
        r = run([monolab, "embed", str(ck), "-o", str(out), "--samples", "500", "--device", "cpu"])
        assert r.returncode == 2 and f"{out} is in use by another monolab command (pid 4242" in r.stderr, r.stderr
        assert os.listdir(out) == [".monolab.lock"]
    data = tmp_path / "data"
    write_dataset(str(data))
    cfg = tmp_path / "sae.yaml"
    cfg.write_text(SAE_TINY + f"data:\n  dir: {data}\n")
    out = tmp_path / "sae"
    with held(out):
        r = run([monolab, "sae", str(cfg), "-o", str(out)])
        assert r.returncode == 2 and f"{out} is in use by another monolab command" in r.stderr, r.stderr


def test_sae_rerun_leaves_no_leftovers(monolab, tmp_path):
    data = tmp_path / "data"
    write_dataset(str(data))
    cfg = tmp_path / "sae.yaml"
    cfg.write_text(SAE_TINY + f"data:\n  dir: {data}\n")
    first, again = tmp_path / "first", tmp_path / "again"
    ok(run([monolab, "sae", str(cfg), "-o", str(again), "seeds=[0,1,2]"]))  # a larger grid first
    (again / "train_log.csv.tmp999999").write_text("killed")  # a killed run's
    ok(run([monolab, "sae", str(cfg), "-o", str(again)]))
    ok(run([monolab, "sae", str(cfg), "-o", str(first)]))

    def tree(d):
        return sorted(os.path.relpath(os.path.join(r, f), d) for r, ds, fs in os.walk(d) for f in fs + ds)
    assert tree(again) == tree(first)


def test_explore_killed_then_resumed_and_rebuilt(monolab, toy, tmp_path):
    d, _ = toy
    site = tmp_path / "site"
    r = run([monolab, "explore", str(d / "e"), "-o", str(site)],
            env=dict(os.environ, MONOLAB_TEST_KILL_AT="write:other:2"))
    assert r.returncode == -9
    assert not site.exists(), "a killed build leaves no half site"
    ok(run([monolab, "explore", str(d / "e"), "-o", str(site)]))
    assert (site / "index.html").exists()
    assert sorted(os.listdir(tmp_path)) == [".site.lock", "site"], "the killed build is gone"
    # A rebuild from another, smaller output keeps none of the old pages;
    # a page planted as a link is replaced, never written through.
    (tmp_path / "k8.yaml").write_text(TOY.replace("k: 48", "k: 8"))
    ok(run([monolab, "sweep", str(tmp_path / "k8.yaml"), "-o", str(tmp_path / "s8"), "--device", "cpu"]))
    small = tmp_path / "small"
    ok(run([monolab, "embed", str(tmp_path / "s8/ckpt" / run_id(tmp_path / "s8") / "step_000300.safetensors"), "-o", str(small),
            "--samples", "500", "--device", "cpu"]))
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    page = site / "data" / "L0" / "b" / "0.js"  # the block of neurons 0-63
    os.remove(page)
    os.symlink(precious, page)
    ok(run([monolab, "explore", str(small), "-o", str(site)]))
    assert precious.read_text() == "keep me\n"
    assert sorted(site_data.neurons(site)) == list(range(8)), "no neuron of the 48-neuron site"


def test_plot_keeps_no_stale_figures(monolab, toy, tmp_path):
    d, _ = toy
    out = tmp_path / "s"
    shutil.copytree(d / "s", out)
    (out / "figures").mkdir()
    (out / "figures" / "sfa_r000099.png").write_text("a run no longer drawn")
    precious = tmp_path / "precious"
    precious.write_text("keep me\n")
    os.symlink(precious, out / "figures" / "mono_vs_loss.dat")
    ok(run([monolab, "plot", str(out)]))
    assert precious.read_text() == "keep me\n"
    figs = os.listdir(out / "figures")
    assert "sfa_r000099.png" not in figs and "mono_vs_loss.png" in figs


def test_memory_is_checked_before_allocating(monolab, toy, tmp_path):
    _, ck = toy
    env = dict(os.environ, MONOLAB_MEM_GB="1")
    r = run([monolab, "embed", str(ck), "-o", str(tmp_path / "e"), "--samples", "50000000", "--device", "cpu"],
            env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "embed --samples would need 8.00 GB of memory, more than the 1.00 GB budget" in r.stderr, r.stderr
    data = tmp_path / "data"
    write_dataset(str(data))
    cfg = tmp_path / "sae.yaml"
    cfg.write_text(SAE_TINY + f"data:\n  dir: {data}\n")
    r = run([monolab, "sae", str(cfg), "-o", str(tmp_path / "sae"), "sae.latents=1048576"], env=env, timeout=60)
    assert r.returncode == 2 and "sae (sae.latents x the grid) would need" in r.stderr, r.stderr
    assert not (tmp_path / "sae" / "saes.csv").exists()


# These crashed (exit 139) before the one config loader served sae too.
@pytest.mark.parametrize("case", ["empty", "ln="])
def test_sae_bad_config_exits_2_not_segfault(monolab, tmp_path, case):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("" if case == "empty" else SAE_TINY)
    r = run([monolab, "sae", str(cfg), *(["sae.ln="] if case == "ln=" else [])], timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("monolab: "), r.stderr
