"""The config loader's hints, for both commands that read YAML configs
(sweep and sae go through the one loader): a key one edit from a known one
gets "did you mean", and a quoted number is named as a quoted string. Each
is one line on stderr, exit 2, nothing written."""
import pytest

from conftest import TINY, run

SAE = "sae:\n  latents: 8\n"


def refused(r, msg, out):
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert msg in r.stderr, r.stderr
    assert not out.exists()


@pytest.mark.parametrize("edit,msg", [
    (("seeds: 2", "seed: 2"), "cfg.yaml:2: unknown key 'seed'; did you mean 'seeds'?"),
    (("  steps: 64", "  stesp: 64"), "unknown key 'train.stesp'; did you mean 'train.steps'?"),  # a swap
    (("  lr: 0.01", "  lrr: 0.01"), "unknown key 'train.lrr'; did you mean 'train.lr'?"),  # an insertion
    (("model:", "modle:"), "unknown key 'modle'; did you mean 'model'?"),  # a section
    (("  k: [8, 16]", '  k: "16"'), "cfg.yaml:7: 'model.k' must be an integer, got '16' (a quoted string: "
     "write numbers without quotes)"),
    (("  lr: 0.01", "  lr: '0.01'"), "'train.lr' must be a finite number, got '0.01' (a quoted string"),
    (("seeds: 2", 'seeds: "2"'), "'seeds' must be a count >= 1 or a list of seeds, got '2' (a quoted string"),
    (("seeds: 2", 'seeds: [0, "1"]'), "'seeds' entries must be integers >= 0, got '1' (a quoted string"),
])
def test_sweep_config_hints(monolab, tmp_path, edit, msg):
    assert edit[0] in TINY
    (tmp_path / "cfg.yaml").write_text(TINY.replace(*edit))
    refused(run([monolab, "sweep", "cfg.yaml", "-o", "o"], cwd=tmp_path), msg, tmp_path / "o")


@pytest.mark.parametrize("over,msg", [
    ("model.kk=8", "override 'model.kk=8': unknown key 'model.kk'; did you mean 'model.k'?"),
    ("lr=0.1", "unknown key 'lr'; did you mean 'train.lr'?"),  # a key outside its section
    ("seds=3", "unknown key 'seds'; did you mean 'seeds'?"),
])
def test_sweep_override_hints(monolab, tmp_path, over, msg):
    (tmp_path / "cfg.yaml").write_text(TINY)
    refused(run([monolab, "sweep", "cfg.yaml", over, "-o", "o"], cwd=tmp_path), msg, tmp_path / "o")


def test_no_hint_when_nothing_is_close(monolab, tmp_path):
    (tmp_path / "cfg.yaml").write_text(TINY.replace("  steps: 64", "  zzzzz: 64"))
    r = run([monolab, "sweep", "cfg.yaml", "-o", "o"], cwd=tmp_path)
    refused(r, "unknown key 'train.zzzzz' (known in train:", tmp_path / "o")
    assert "did you mean" not in r.stderr


@pytest.mark.parametrize("text,msg", [
    ("sae:\n  latnets: 8\n", "unknown key 'sae.latnets'; did you mean 'sae.latents'?"),
    ("sae:\n  latents: '8'\n", "'sae.latents' must be an integer, got '8' (a quoted string"),
    ("seed: 1\n" + SAE, "unknown key 'seed'; did you mean 'seeds'?"),
])
def test_sae_config_hints(monolab, tmp_path, text, msg):
    (tmp_path / "s.yaml").write_text(text)
    refused(run([monolab, "sae", "s.yaml", "-o", "out"], cwd=tmp_path), msg, tmp_path / "out")
