"""`monolab sae` end to end, and its IDX reader on the real Fashion-MNIST
files and on malformed ones (each must exit 2 naming the file)."""
import gzip
import os
import shutil

import numpy as np
import pytest

from conftest import BUILD, run
from stio import load

FASHION = "/usr/share/datasets/fashion-mnist"
SAEDUMP = os.path.join(BUILD, "tests", "saedump")


def idx_bytes(arr, magic_type=0x08):
    arr = np.asarray(arr, np.uint8)
    head = bytes([0, 0, magic_type, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return head + arr.tobytes()


def parse_idx(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw[4 + 4 * nd:], np.uint8).reshape(dims)


def write_dataset(d, n_train=600, n_test=200, gz=True, seed=0):
    """A small MNIST-style dataset whose classes are learnable (class c lights row band c)."""
    rng = np.random.default_rng(seed)
    os.makedirs(d, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 2 * c:2 * c + 3, :] = 250
        for kind, arr in (("images-idx3-ubyte", x), ("labels-idx1-ubyte", y)):
            data = idx_bytes(arr)
            path = os.path.join(d, f"{split}-{kind}" + (".gz" if gz else ""))
            with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
                f.write(data)


TINY = """\
name: tiny-sae
seeds: 2
mlp:
  hidden: 16
  epochs: 2
  batch: 32
sae:
  latents: 48
  batch: 32
  l1: 0.01
  ln: [0, 1]
  ln_start: 5
  log_every: 4
embed:
  max_examples: 20
"""


@pytest.fixture
def tiny(tmp_path):
    data = tmp_path / "data"
    write_dataset(str(data))
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY + f"data:\n  dir: {data}\n")
    return cfg, data


@pytest.mark.parametrize("split", ["train", "t10k"])
def test_idx_reader_on_fashion_mnist(split, tmp_path):
    x = parse_idx(f"{FASHION}/{split}-images-idx3-ubyte.gz")
    y = parse_idx(f"{FASHION}/{split}-labels-idx1-ubyte.gz")
    r = run([SAEDUMP, "digits", FASHION, split])
    assert r.returncode == 0, r.stderr
    f = r.stdout.split()
    assert int(f[0]) == len(y) == (60000 if split == "train" else 10000)
    assert int(f[1]) == 784 == x[0].size
    xs = (x.astype(np.float32) / np.float32(255)).astype(np.float64).sum()
    assert abs(float(f[2]) - xs) <= 1e-9 * xs
    assert int(f[3]) == int(y.astype(np.int64).sum())
    assert [int(v) for v in f[4:]] == list(y[:4])
    # the same files uncompressed read the same
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        with gzip.open(f"{FASHION}/{split}-{kind}.gz") as src, open(tmp_path / f"{split}-{kind}", "wb") as dst:
            shutil.copyfileobj(src, dst)
    r2 = run([SAEDUMP, "digits", str(tmp_path), split])
    assert r2.returncode == 0 and r2.stdout == r.stdout


def corrupt(path, how):
    raw = gzip.open(path).read()
    if how == "magic":
        raw = b"\x00\x00\x08\x09" + raw[4:]
    elif how == "type":
        raw = b"\x00\x00\x0d" + raw[3:]
    elif how == "truncated":
        raw = raw[:-17]
    elif how == "extra":
        raw = raw + b"\x00" * 5
    elif how == "header":
        raw = raw[:6]
    with gzip.open(path, "wb") as f:
        f.write(raw)


@pytest.mark.parametrize("how,msg", [("magic", "not an IDX file"), ("type", "element type"),
                                     ("truncated", "truncated"), ("extra", "bytes past"),
                                     ("header", "truncated IDX header")])
def test_malformed_idx_exits_2_naming_the_file(tiny, tmp_path, monolab, how, msg):
    cfg, data = tiny
    bad = str(data / "t10k-images-idx3-ubyte.gz")
    corrupt(bad, how)
    out = tmp_path / "out"
    r = run([monolab, "sae", str(cfg), "-o", str(out)])
    assert r.returncode == 2, r.stderr
    assert bad in r.stderr and msg in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (out / "saes.csv").exists()


def test_mismatched_counts_and_bad_labels(tiny, tmp_path, monolab):
    cfg, data = tiny
    lab = str(data / "train-labels-idx1-ubyte.gz")
    y = parse_idx(lab)
    with gzip.open(lab, "wb") as f:
        f.write(idx_bytes(y[:-3]))
    r = run([monolab, "sae", str(cfg), "-o", str(tmp_path / "o1")])
    assert r.returncode == 2 and lab in r.stderr and "597 labels for 600 images" in r.stderr
    y2 = y.copy()
    y2[7] = 12
    with gzip.open(lab, "wb") as f:
        f.write(idx_bytes(y2))
    r = run([monolab, "sae", str(cfg), "-o", str(tmp_path / "o2")])
    assert r.returncode == 2 and lab in r.stderr and "label 12" in r.stderr
    os.remove(lab)
    r = run([monolab, "sae", str(cfg), "-o", str(tmp_path / "o3")])
    assert r.returncode == 2 and "train-labels-idx1-ubyte[.gz]: not found" in r.stderr


def test_bad_config_exits_2(tiny, tmp_path, monolab):
    cfg, _ = tiny
    r = run([monolab, "sae", str(cfg), "sae.lamda=1"])
    assert r.returncode == 2 and "unknown key 'sae.lamda'" in r.stderr
    cfg.write_text(cfg.read_text().replace("latents: 48", "latents: many"))
    r = run([monolab, "sae", str(cfg)])
    assert r.returncode == 2 and f"{cfg}:8: 'sae.latents' must be an integer, got 'many'" in r.stderr


@pytest.mark.parametrize("text,over,msg", [
    ("", [], "empty.yaml: the config is empty"),
    ("# only a comment\n", [], "empty.yaml: the config is empty"),
    ("- 1\n", [], "empty.yaml:1: a config must be a mapping of keys, got a list"),
    ("sae:\n  latents: 8\n", ["sae.ln="], "override 'sae.ln=' has an empty value"),
    ("sae:\n  latents: 8\n", ["mlp=3"], "unknown key 'mlp'"),
    ("sae: [1]\n", ["sae.ln=1"], "override 'sae.ln=1': 'sae' is not a mapping in the config (line 1)"),
    ("sae:\n  ln: []\n", [], "empty.yaml:2: 'sae.ln' is an empty list"),
    ("sae:\n  latents: [8, 16]\n", [], "empty.yaml:2: 'sae.latents' must be a single value, not a list"),
    ("seeds: 0\n", [], "empty.yaml:1: 'seeds' must be a count from 1 to 256"),
])
def test_bad_sae_config_exits_2_with_one_line(tmp_path, monolab, text, over, msg):
    """The sae config goes through the sweep's loader: the inputs that crashed
    the old sae loader (an empty file, an empty override) are refused."""
    cfg = tmp_path / "empty.yaml"
    cfg.write_text(text)
    r = run([monolab, "sae", str(cfg), *over, "-o", str(tmp_path / "out")])
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


def read_csv(path):
    lines = open(path).read().strip().splitlines()
    head = lines[0].split(",")
    return [dict(zip(head, l.split(","))) for l in lines[1:]]


def test_sae_end_to_end(tiny, tmp_path, monolab):
    cfg, data = tiny
    out = tmp_path / "out"
    r = run([monolab, "sae", str(cfg), "-o", str(out)])
    assert r.returncode == 0, r.stderr
    rows = read_csv(out / "saes.csv")
    assert [(float(x["ln_coef"]), int(x["seed"])) for x in rows] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for x in rows:
        assert 0 < float(x["l0"]) < 1 and 0 <= float(x["dead_frac"]) < 1
        assert abs(float(x["base_acc"]) - float(x["acc"]) - float(x["acc_drop"])) < 1e-6
        assert float(x["base_acc"]) > 0.5          # the bands make the classes learnable
        assert 0 < float(x["median_mean_dist"]) <= float(x["median_max_dist"]) <= 2
        assert int(x["steps"]) == 600 // 32
        t, _ = load(out / "saes" / x["sae_id"] / "sae_weights.safetensors")
        assert t["W_enc"].shape == (16, 48) and t["W_dec"].shape == (48, 16)
        assert t["b_enc"].shape == (48,) and t["b_dec"].shape == (16,)
        assert np.allclose(np.linalg.norm(t["W_dec"], axis=1), 1, atol=1e-5)
        import json
        c = json.load(open(out / "saes" / x["sae_id"] / "cfg.json"))
        assert (c["d_in"], c["d_sae"], c["apply_b_dec_to_input"]) == (16, 48, True)
    # the log has L_N only from step 5 and only for λ2 > 0
    log = read_csv(out / "train_log.csv")
    for x in log:
        on = int(x["step"]) >= 5 and x["sae"] in ("s002", "s003")
        assert (float(x["ln"]) > 0) == on, x
    assert (out / "mlp.safetensors").exists() and (out / "config.yaml").exists()
    # a second launch reuses the MLP and gives the same numbers, bit for bit
    r2 = run([monolab, "sae", str(cfg), "-o", str(out)])
    assert r2.returncode == 0 and "reusing the MLP checkpoint" in r2.stderr
    assert read_csv(out / "saes.csv") == rows
    # a reused MLP must have been trained with the same settings
    r3 = run([monolab, "sae", str(cfg), "-o", str(out), "mlp.epochs=3"])
    assert r3.returncode == 2 and "mlp.safetensors" in r3.stderr and "epochs=2" in r3.stderr
    assert "epochs: 2" in (out / "config.yaml").read_text()   # the failed launch wrote nothing
    # monolab plot on an SAE folder draws the Table 2 figures
    r5 = run([monolab, "plot", str(out)])
    assert r5.returncode == 0, r5.stderr
    for name in ("sae_metrics_vs_ln", "sae_tradeoff"):
        for ext in ("png", "svg", "dat", "gp"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 0
    dat = (out / "figures" / "sae_metrics_vs_ln.dat").read_text().split("\n")
    assert [l.split()[1] for l in dat if l and not l.startswith("#")] == ["0", "1"]
    # the resolved config reproduces the run
    r4 = run([monolab, "sae", str(out / "config.yaml"), "-o", str(tmp_path / "again")])
    assert r4.returncode == 0, r4.stderr
    assert read_csv(tmp_path / "again" / "saes.csv") == rows


def test_shipped_config_on_fashion_mnist(tmp_path, monolab):
    """configs/foote2024/sae.yaml loads and runs on the real data (shrunk by overrides)."""
    cfg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "foote2024", "sae.yaml")
    r = run([monolab, "sae", cfg, "seeds=1", "sae.ln=[0,3]", "sae.latents=64", "mlp.epochs=1", "-o", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    assert "fashion-mnist" in (tmp_path / "config.yaml").read_text()
    rows = read_csv(tmp_path / "saes.csv")
    assert len(rows) == 2 and all(int(x["steps"]) == 60000 // 64 for x in rows)
    assert float(rows[0]["base_acc"]) > 0.75      # one epoch on Fashion-MNIST
