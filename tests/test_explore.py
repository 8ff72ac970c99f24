"""`monolab explore` in a real browser (headless Chromium driven by
Selenium): the site built from a toy checkpoint's embed output and from an
exported transformer layer is opened from disk (and once behind
`python3 -m http.server`), its table sorted, a neuron opened, its cluster
tabs switched, the DOM checked (token spans coloured by activation, at most
20 examples per tab, the dendrogram with its cut line, similar-cluster
links that resolve), no console errors, screenshots saved and checked not
blank (build/explore-screenshots/). Plus the command's errors."""
import csv
import io
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from browser import browser, console_errors, js_all, shot, wait  # noqa: F401  (browser: a fixture)
from conftest import BUILD, run, run_id, ok
from gpt2_fixture import export, make_gpt2
from stio import save

MONOLAB = os.path.join(BUILD, "monolab")


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory):
    monolab = MONOLAB
    d = tmp_path_factory.mktemp("toy")
    cfg = d / "t.yaml"
    cfg.write_text("seeds: 1\nmodel:\n  N: 32\n  m: 8\n  k: 48\ndata:\n  eps: 0.125\n"
                   "train:\n  steps: 300\n  batch: 64\n  lr: 0.01\neval:\n  batch: 64\ncheckpoints: final\n")
    ok(run([monolab, "sweep", str(cfg), "-o", str(d / "s"), "--device", "cpu"]))
    ok(run([monolab, "embed", str(d / "s/ckpt" / run_id(d / "s") / "step_000300.safetensors"), "-o", str(d / "e"),
            "--samples", "2000", "--device", "cpu"]))
    ok(run([monolab, "explore", str(d / "e"), "-o", str(d / "site")]))
    return d / "e", d / "site"


@pytest.fixture(scope="module")
def gpt2_site(tmp_path_factory):
    monolab = MONOLAB
    d = tmp_path_factory.mktemp("gpt2")
    text = open("/usr/share/common-licenses/GPL-3").read() if os.path.exists("/usr/share/common-licenses/GPL-3") \
        else None
    (d / "model").mkdir()
    g = make_gpt2(d / "model", **({"text": text} if text else {}))
    ok(export(g, d / "acts", "--layers", "1", tokens=6000, ctx=48))
    ok(run([monolab, "embed", str(d / "acts/layer01.safetensors"), "-o", str(d / "e"), "--device", "cpu",
            "--threshold", "0.3"]))
    ok(run([monolab, "explore", str(d / "e"), "-o", str(d / "site")]))
    return d / "e", d / "site"


def column(driver, k):
    return [None if t == "–" else float(t)
            for t in js_all(driver, f"table.neurons tbody tr td:nth-child({k + 1})", "e.textContent")]


def sort_by(driver, col, way):
    """Click a column's head once; the table is re-rendered from the URL."""
    driver.find_element(By.CSS_SELECTOR, f"th[data-col='{col}']").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"th[data-col='{col}']").get_attribute("class") == "sorted-" + way)


def check_site(driver, outdir, site, url, toy, tag):
    neurons = list(csv.DictReader(open(outdir / "neurons.csv")))
    cols = list(neurons[0].keys())
    driver.get(url)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.neurons tbody tr"))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.neurons tbody tr")
    assert len(rows) == min(100, len(neurons))
    assert driver.find_elements(By.CSS_SELECTOR, "svg.hist rect.bar-rect")
    # sorting: descending first, then ascending; undefined metrics last
    for col in ("n_clusters", "mean_intra", "max_dist", "n_examples"):
        sort_by(driver, col, "desc")
        vals = column(driver, cols.index(col))
        defined = [v for v in vals if v is not None]
        assert defined == sorted(defined, reverse=True) and vals[:len(defined)] == defined, col
        sort_by(driver, col, "asc")
        defined = [v for v in column(driver, cols.index(col)) if v is not None]
        assert defined == sorted(defined), col
    sort_by(driver, "n_clusters", "desc")  # most clusters first
    want = max(int(n["n_clusters"]) for n in neurons)
    assert column(driver, cols.index("n_clusters"))[0] == want
    shot(driver, tag + "-index")

    # open the neuron with the most clusters from the table
    top = int(driver.find_element(By.CSS_SELECTOR, "table.neurons tbody tr").get_attribute("data-neuron"))
    driver.find_element(By.CSS_SELECTOR, "table.neurons tbody tr").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#view-neuron .tab"))
    tabs = driver.find_elements(By.CSS_SELECTOR, "#view-neuron .tab")
    assert len(tabs) == int(neurons[top]["n_clusters"]) == want > 1
    examples = [e for e in csv.DictReader(open(outdir / "examples.csv")) if int(e["neuron"]) == top]
    for c in range(min(len(tabs), 3)):
        driver.find_elements(By.CSS_SELECTOR, "#view-neuron .tab")[c].click()
        wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#view-neuron .tab.active").get_attribute(
            "data-cluster") == str(c))
        size = sum(int(e["cluster"]) == c for e in examples)
        shown = driver.find_elements(By.CSS_SELECTOR, "li.example")
        assert len(shown) == min(20, size)
        if toy:
            assert driver.find_elements(By.CSS_SELECTOR, "li.example .feat")
        else:
            keys = js_all(driver, "li.example .tok.key", "getComputedStyle(e).backgroundColor")
            assert len(keys) == len(shown)
            for bg in keys:  # the key token carries the example's activation: a visible colour
                assert bg.startswith("rgba(234, 88, 12") and float(bg.rsplit(",", 1)[1].strip(" )")) > 0, bg
            assert len(driver.find_elements(By.CSS_SELECTOR, "li.example .tok")) > len(shown)  # context, not only keys
        svg = driver.find_element(By.CSS_SELECTOR, "svg.dendro")
        assert svg.find_elements(By.CSS_SELECTOR, "line.cut-line")
        assert len(svg.find_elements(By.CSS_SELECTOR, "path")) == len(examples) - 1
    if toy:
        assert "true features" in driver.find_element(By.CSS_SELECTOR, "#view-neuron .stats").text
    shot(driver, tag + "-neuron")

    # similar clusters: every link names a neuron file and a cluster that exist
    hrefs = js_all(driver, "a.similar-link", "e.href")
    assert hrefs
    for href in hrefs:
        h = dict(kv.split("=") for kv in href.split("#", 1)[1].split("&"))
        n2, c2 = int(h["n"]), int(h["c"])
        assert n2 != top and c2 < int(neurons[n2]["n_clusters"])
        assert (site / "data" / "L0" / "b" / f"{n2 // 64}.js").exists()
    h = dict(kv.split("=") for kv in hrefs[0].split("#", 1)[1].split("&"))
    driver.find_element(By.CSS_SELECTOR, "a.similar-link").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#view-neuron h1").text == f"Neuron {h['n']}")
    assert driver.find_element(By.CSS_SELECTOR, "#view-neuron .tab.active").get_attribute("data-cluster") == h["c"]

    # the picker's search opens a neuron by id
    box = driver.find_element(By.ID, "neuron-id")
    box.clear()
    box.send_keys("3\n")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#view-neuron h1").text == "Neuron 3")
    assert console_errors(driver) == []


def test_toy_site_in_browser(browser, toy_site):
    outdir, site = toy_site
    check_site(browser, outdir, site, "file://" + str(site / "index.html"), True, "toy")


def test_transformer_site_in_browser(browser, gpt2_site):
    outdir, site = gpt2_site
    check_site(browser, outdir, site, "file://" + str(site / "index.html"), False, "gpt2")


def test_site_behind_http_server(browser, gpt2_site):
    _, site = gpt2_site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=site,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        browser.get(f"http://127.0.0.1:{port}/index.html#L=0&n=5&c=0")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#view-neuron h1"))
        assert browser.find_element(By.CSS_SELECTOR, "#view-neuron h1").text == "Neuron 5"
        assert console_errors(browser) == []
    finally:
        srv.terminate()
        srv.wait(10)


def test_explore_errors(monolab, toy_site, tmp_path):
    outdir, site = toy_site
    r = run([monolab, "explore", str(tmp_path)])
    assert r.returncode == 2 and "neurons.csv: missing" in r.stderr and len(r.stderr.splitlines()) == 1
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("my page")
    r = run([monolab, "explore", str(outdir), "-o", str(mine)])
    assert r.returncode == 2 and "not a monolab explorer site" in r.stderr
    assert (mine / "index.html").read_text() == "my page"  # nothing of the user's is lost
    ok(run([monolab, "explore", str(outdir), "-o", str(site)]))  # a site may be rebuilt in place


def test_refused_explore_leaves_no_build_folder(monolab, toy_site, tmp_path):
    """explore refused after its build began (an --input that is not the file
    the layer was embedded from) keeps the existing site as it was and leaves
    no hidden build folder beside it; only the lock file stays (it is kept on
    purpose: it holds the last command's pid, outdir_lock.c)."""
    outdir, _ = toy_site
    site = tmp_path / "site"
    ok(run([monolab, "explore", str(outdir), "-o", str(site)]))
    files = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site"]
    wrong = tmp_path / "wrong.safetensors"
    save(str(wrong), {"pre_mlp": np.zeros((8, 4), np.float32), "W_in": np.zeros((4, 7), np.float32)},
         {"model": "x", "layer": "0"})
    r = run([monolab, "explore", str(outdir), "-o", str(site), "--input", str(wrong)])
    assert r.returncode == 2 and "it was embedded from" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site", "wrong.safetensors"]
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == files
