"""The offline language-model path and the explorer's features on it, in
headless Chromium: scripts/lm_demo.sh --quick (the seconds-long version of
`make lm-demo`: a tiny GPT-2 trained on a slice of dict-gcide, exported,
embedded with both embeddings, its site built, Table 1 written), then on
that site: key tokens on the tabs and in the neuron table, token search,
similar-cluster previews (cosine similarity; none at or below zero), the
activation histogram, the one-line view, the URL holding sort, page, tab
and view, bad URLs, distinct colours, whitespace key tokens made visible,
the large-layer layout and its index load time, and the --input mismatch
message."""
import collections
import csv
import json
import math
import os
import shutil
import sys

import numpy as np
import pytest
from selenium.webdriver.common.by import By

import site_data
from browser import browser, console_errors, js_all, shot, wait  # noqa: F401  (browser: a fixture)
from conftest import BUILD, ROOT, run, ok
from gpt2_fixture import PYDEPS
from stio import load, save

MONOLAB = os.path.join(BUILD, "monolab")


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    r = run(["bash", os.path.join(ROOT, "scripts", "lm_demo.sh"), str(out), "--quick"],
            env={**os.environ, "PY": sys.executable, "MONOLAB": MONOLAB, "PYDEPS": PYDEPS})
    ok(r)
    return out


class Layer:
    """What a page of layer 0 of the trained model should show, from embed's files and the exported tokens."""

    def __init__(self, out):
        self.e = out / "embed_model_L0"
        t, _ = load(str(out / "acts_model" / "layer00.safetensors"))
        self.tokens = np.asarray(t["token_ids"])
        self.vocab = json.load(open(out / "acts_model" / "vocab.json"))
        self.neurons = list(csv.DictReader(open(self.e / "neurons.csv")))
        self.examples = collections.defaultdict(list)  # neuron -> [(cluster, key token)] in dataset order
        for x in csv.DictReader(open(self.e / "examples.csv")):
            self.examples[int(x["neuron"])].append((int(x["cluster"]), int(self.tokens[int(x["token"])])))

    def top(self, j, cluster, k):
        """A cluster's most frequent key tokens, ties in order of first appearance (as explore counts them)."""
        c = collections.Counter(t for cl, t in self.examples[j] if cl == cluster)
        return sorted(c.items(), key=lambda kv: -kv[1])[:k]


def visible(text):
    """The page's rendering of a token in key-token lists (explorer.js visible())."""
    if text.strip() == "":
        return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"
    return text.replace("\n", "↵")


def chips(driver, selector):
    return js_all(driver, selector, "[...e.querySelectorAll('.key-chip')].map(c => [c.querySelector('code').textContent, "
                                    "c.querySelector('small').textContent])")


def open_hash(driver, site, h):
    driver.get("file://" + str(site / "index.html") + h)


def shown(driver, view):
    wait(driver, lambda d: d.find_element(By.ID, view).is_displayed() and d.find_element(By.ID, "status").text == "")


def test_lm_demo_trains_exports_embeds_and_builds(lm):
    rep = json.load(open(lm / "lm.json"))
    assert rep["heldout_loss"] < rep["unigram_loss"] < rep["random_init_loss"], rep
    for m in ("model", "random"):  # the Hugging Face layout the exporter read
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(os.listdir(lm / m))
    layers = rep["config"]["n_layer"]
    text = (lm / "table1.md").read_text()
    table = text.split("\n\n")[0].splitlines()
    assert len(table) == 2 + 2 + 2 * layers * 2  # header, published, {trained, random} x layers x embeddings
    for line in table[4:]:
        intra, inter = (float(x) for x in line.split("|")[4:6])
        assert 0 <= intra <= 1.5 and 0 <= inter <= 2, line
    assert "On the same neurons" in text and text.count("→") == 2 + 2 * 2 * layers  # the paired table's head and rows
    for L in range(layers):
        assert (lm / "site" / "data" / f"L{L}" / "index.js").exists()


def test_key_tokens_in_neuron_table_and_tabs(browser, lm):
    lay, site = Layer(lm), lm / "site"
    open_hash(browser, site, "#L=0")
    shown(browser, "view-index")
    rows = [int(n) for n in js_all(browser, "table.neurons tbody tr", "e.dataset.neuron")]
    got = chips(browser, "table.neurons tbody td.keys-col")
    assert len(got) == len(rows) and sum(map(len, got)) > len(rows)
    for j, cell in zip(rows, got):  # the top key token of each of the 4 largest clusters (ties: lower id)
        sizes = collections.Counter(c for c, _ in lay.examples[j])
        largest = sorted(sizes, key=lambda c: (-sizes[c], c))[:4]
        assert cell == [[visible(lay.vocab[lay.top(j, c, 1)[0][0]]), f"×{lay.top(j, c, 1)[0][1]}"] for c in largest], j
    j = max(range(len(lay.neurons)), key=lambda i: int(lay.neurons[i]["n_clusters"]))
    open_hash(browser, site, f"#L=0&n={j}")
    shown(browser, "view-neuron")
    tabs = chips(browser, "#view-neuron .tab")
    assert len(tabs) == int(lay.neurons[j]["n_clusters"]) > 1
    for c, cell in enumerate(tabs):
        assert cell == [[visible(lay.vocab[t]), f"×{k}"] for t, k in lay.top(j, c, 2)], c
    assert chips(browser, ".cluster-keys")[0] == [[visible(lay.vocab[t]), f"×{k}"] for t, k in lay.top(j, 0, 5)]
    assert console_errors(browser) == []


def test_token_search(browser, lm):
    lay, site = Layer(lm), lm / "site"
    counts = collections.Counter((j, c, t) for j, ex in lay.examples.items() for c, t in ex)
    by_token = collections.Counter(t for (_, _, t) in counts.elements())
    tok = next(t for t, _ in by_token.most_common() if lay.vocab[t].strip())
    query = lay.vocab[tok].strip()
    ids = {i for i, v in enumerate(lay.vocab)
           if v == query or v == " " + query or v.strip().lower() == query.lower()}
    want = sorted(((k, j, c) for (j, c, t), k in counts.items() if t in ids), key=lambda x: (-x[0], x[1], x[2]))
    open_hash(browser, site, "#L=0")
    shown(browser, "view-index")
    box = browser.find_element(By.ID, "token-q")
    box.send_keys(query + "\n")
    shown(browser, "view-search")
    assert "q=" in browser.current_url
    got = js_all(browser, "table.hits tbody tr", "[+e.dataset.neuron, +e.dataset.cluster, +e.lastChild.textContent]")
    assert [(j, c, k) for j, c, k in got] == [(j, c, k) for k, j, c in want][:200] and got
    browser.find_element(By.CSS_SELECTOR, "a.hit-link").click()  # a hit opens its neuron on that cluster
    shown(browser, "view-neuron")
    assert browser.find_element(By.CSS_SELECTOR, ".tab.active").get_attribute("data-cluster") == str(got[0][1])
    shot(browser, "lm-search")
    assert console_errors(browser) == []


def test_similar_clusters_preview_cosine_and_nonpositive_hidden(browser, lm, tmp_path):
    lay = Layer(lm)
    e = tmp_path / "e"
    shutil.copytree(lay.e, e)
    t, meta = load(str(e / "similar.safetensors"))
    sid, sim = np.array(t["similar_id"]), np.array(t["similarity"])
    clusters = list(csv.DictReader(open(e / "clusters.csv")))
    q = 0  # neuron 0's first cluster: make some of its similar clusters not similar
    sim[q, 1], sim[q, 3], sim[q, 4] = 0.0, -0.25, -0.5
    save(str(e / "similar.safetensors"), {"similar_id": sid, "similarity": sim,
                                          "central_embedding": np.array(t["central_embedding"])}, meta)
    ok(run([MONOLAB, "explore", str(e), "-o", str(tmp_path / "site")]))
    open_hash(browser, tmp_path / "site", "#L=0&n=0&c=0")
    shown(browser, "view-neuron")
    want = [(int(clusters[o]["neuron"]), int(clusters[o]["cluster"]), x) for o, x in zip(sid[q], sim[q]) if o >= 0 and x > 0]
    assert len(want) == (sid[q] >= 0).sum() - 3
    items = js_all(browser, "ul.similar li", "[e.querySelector('a').getAttribute('href'), e.querySelector('.s').textContent, "
                                             "e.querySelector('.preview .tok.key').textContent]")
    assert len(items) == len(want)
    ex = list(csv.DictReader(open(e / "examples.csv")))
    for (href, score, key), (n2, c2, x) in zip(items, want):
        assert href == f"#L=0&n={n2}&c={c2}"
        assert score == f"cosine similarity {x:.2f}"
        central = int(clusters[next(i for i, c in enumerate(clusters) if int(c["neuron"]) == n2 and int(c["cluster"]) == c2)]
                      ["central_example"])
        row = next(int(r["token"]) for r in ex if int(r["neuron"]) == n2 and int(r["example"]) == central)
        assert key == visible(lay.vocab[int(lay.tokens[row])])
    assert console_errors(browser) == []


def test_activation_histogram(browser, lm):
    lay, site = Layer(lm), lm / "site"
    j = max(range(len(lay.neurons)), key=lambda i: (int(lay.neurons[i]["n_clusters"]) > 1, int(lay.neurons[i]["n_examples"])))
    open_hash(browser, site, f"#L=0&n={j}&c=1")
    shown(browser, "view-neuron")
    titles = js_all(browser, "svg.act-hist rect.bar-rect title", "e.textContent")
    total = sum(int(s.split()[0]) for s in titles)
    mine = sum(int(s.split("(")[1].split()[0]) for s in titles)
    assert total == int(lay.neurons[j]["n_examples"])
    assert mine == sum(c == 1 for c, _ in lay.examples[j]) > 0
    hi = js_all(browser, "svg.act-hist rect.bar-hi", "e.getAttribute('fill')")
    assert hi and set(hi) == {browser.execute_script("return ML.colour(1)")}
    assert "maximum" in browser.find_element(By.CSS_SELECTOR, "svg.act-hist").text
    nd = site_data.neurons(site)[j]  # every selected example sits between act_frac and 100% of the maximum
    assert all(74 <= a <= 100 for a in nd["acts"]) and nd["max"] > 0


def test_one_line_view(browser, lm):
    lay, site = Layer(lm), lm / "site"
    j = max(range(len(lay.neurons)), key=lambda i: int(lay.neurons[i]["n_examples"]))
    open_hash(browser, site, f"#L=0&n={j}")
    shown(browser, "view-neuron")
    browser.find_element(By.CSS_SELECTOR, ".mode-line").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "ul.examples.compact li.example"))
    assert "v=line" in browser.current_url
    geo = js_all(browser, "li.example", "(() => { const r = e.getBoundingClientRect(), k = e.querySelector('.tok.key')"
                                        ".getBoundingClientRect(), t = e.querySelector('.text.line'); return [r.height, "
                                        "k.left >= r.left && k.right <= r.right, t.scrollHeight, "
                                        "parseFloat(getComputedStyle(t).lineHeight)]; })()")
    for height, key_inside, text_h, line_h in geo:
        assert key_inside and text_h <= 1.5 * line_h and height < 2.2 * line_h, (height, text_h, line_h)
    shot(browser, "lm-one-line")
    browser.find_element(By.CSS_SELECTOR, ".mode-wrap").click()  # and back
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "ul.examples.compact"))
    assert "v=line" not in browser.current_url


def test_url_state_top_of_page_and_bad_urls(browser, lm):
    site = lm / "site"
    open_hash(browser, site, "#L=0")
    shown(browser, "view-index")
    browser.find_element(By.CSS_SELECTOR, "th[data-col='n_examples']").click()
    wait(browser, lambda d: "sort=n_examples" in d.current_url and "dir=-1" in d.current_url)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    browser.find_element(By.XPATH, "//button[contains(., 'next')]").click()
    wait(browser, lambda d: "p=1" in d.current_url and d.find_element(By.CSS_SELECTOR, ".pager span").text.startswith("neurons 101–"))
    assert browser.execute_script("return window.scrollY") == 0  # the next page of the table opens at its top
    url = browser.current_url
    browser.get("about:blank")
    browser.get(url)  # the URL alone restores sort and page
    shown(browser, "view-index")
    assert browser.find_element(By.CSS_SELECTOR, "th[data-col='n_examples']").get_attribute("class") == "sorted-desc"
    assert browser.find_element(By.CSS_SELECTOR, ".pager span").text.startswith("neurons 101–")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    assert browser.execute_script("return window.scrollY") > 100
    row = browser.find_element(By.CSS_SELECTOR, "table.neurons tbody tr:last-child")
    j = row.get_attribute("data-neuron")
    row.click()
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#view-neuron h1").text == f"Neuron {j}")
    assert browser.execute_script("return window.scrollY") == 0  # a new page opens at the top
    tabs = browser.find_elements(By.CSS_SELECTOR, "#view-neuron .tab")
    if len(tabs) > 1:
        tabs[1].click()
        wait(browser, lambda d: "c=1" in d.current_url)
        browser.back()
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".tab.active").get_attribute("data-cluster") == "0")
    for bad, msg in (("#L=7", "no layer 7"), ("#L=0&n=abc", "n=abc is not a valid neuron id"),
                     ("#L=0&n=999999", "has no neuron 999999"), ("#L=0&sort=nope", "sort=nope is not a column"),
                     ("#L=0&n=0&c=x", "c=x")):
        browser.execute_script("location.hash = arguments[0]", bad)
        wait(browser, lambda d: msg in d.find_element(By.ID, "status").text)
        assert not any(browser.find_element(By.ID, v).is_displayed() for v in ("view-index", "view-neuron", "view-search")), bad
        assert "bad URL" in browser.find_element(By.ID, "status").text
    assert console_errors(browser) == []


def test_cluster_colours_distinct_and_never_merge_grey(browser, lm, tmp_path):
    out = lm
    ok(run([MONOLAB, "embed", str(out / "acts_model" / "layer00.safetensors"), "-o", str(tmp_path / "e"), "--device", "cpu",
            "--threshold", "0.05", "--similar", "0"]))
    ok(run([MONOLAB, "explore", str(tmp_path / "e"), "-o", str(tmp_path / "site")]))
    neurons = list(csv.DictReader(open(tmp_path / "e" / "neurons.csv")))
    j = max(range(len(neurons)), key=lambda i: int(neurons[i]["n_clusters"]))
    k = int(neurons[j]["n_clusters"])
    assert k > 10
    open_hash(browser, tmp_path / "site", f"#L=0&n={j}")
    shown(browser, "view-neuron")
    rgb = js_all(browser, ".tab .swatch", "getComputedStyle(e).backgroundColor")
    assert len(rgb) == k and len(set(rgb)) == k
    grey = "rgb(140, 149, 159)"
    strokes = js_all(browser, "svg.dendro path", "[+e.dataset.cluster, getComputedStyle(e).stroke]")
    assert any(c < 0 for c, _ in strokes) and all((s == grey) == (c < 0) for c, s in strokes)
    # beyond this neuron: the first 200 colours are distinct and none is a grey
    many = browser.execute_script("const d = document.createElement('div'); document.body.append(d); "
                                  "return [...Array(200).keys()].map(i => { d.style.color = ML.colour(i); "
                                  "return getComputedStyle(d).color; })")
    assert len(set(many)) == 200
    for c in many:
        r, g, b = (int(x) for x in c[c.index("(") + 1:c.index(")")].split(",")[:3])
        assert max(r, g, b) - min(r, g, b) > 40, c
    shot(browser, "lm-many-clusters")


def test_whitespace_key_tokens_visible_and_markup_inert(browser, lm, tmp_path):
    lay = Layer(lm)
    j = next(j for j in range(len(lay.neurons)) if len(lay.top(j, 0, 2)) == 2)
    (a, _), (b, _) = lay.top(j, 0, 2)
    hostile = '<img src=x onerror="window.pwned=1">'  # every other token: markup must stay text
    vocab = [hostile] * len(lay.vocab)
    vocab[a], vocab[b] = " ", "\n"
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    ok(run([MONOLAB, "explore", str(lay.e), "-o", str(tmp_path / "site"), "--vocab", str(tmp_path / "vocab.json")]))
    open_hash(browser, tmp_path / "site", f"#L=0&n={j}&c=0")
    shown(browser, "view-neuron")
    assert [c for c, _ in chips(browser, "#view-neuron .tab")[0]] == ["␣", "↵"]
    keys = js_all(browser, "li.example .tok.key", "e.textContent")
    assert "␣" in keys and "↵" in keys
    assert all(k.strip() for k in keys)  # no key token is drawn as blank space
    assert hostile in browser.find_element(By.CSS_SELECTOR, "ul.examples").text
    assert browser.execute_script("return document.querySelectorAll('img').length + (window.pwned || 0)") == 0


def test_large_layer_layout_and_index_load(browser, tmp_path):
    """36,864 neurons (GPT-2 small's 12 x 3072): the data files are blocks of
    64 neurons and 64 search shards, not a file per neuron, and the index
    page is drawn in under a second."""
    n, T = 36864, 2048
    rng = np.random.default_rng(0)
    d = 16
    save(str(tmp_path / "big.safetensors"),
         {"pre_mlp": rng.standard_normal((T, d)).astype(np.float32),
          "W_in": rng.standard_normal((d, n)).astype(np.float32) * 0.3, "b_in": np.zeros(n, np.float32),
          "token_ids": rng.integers(0, 300, T).astype(np.int64), "doc_index": (np.arange(T) // 16).astype(np.int64)},
         {"model": "big", "layer": "0", "activation": "gelu_new", "vocab": "vocab.json"})
    (tmp_path / "vocab.json").write_text(json.dumps([f" w{i}" for i in range(300)]))
    ok(run([MONOLAB, "embed", str(tmp_path / "big.safetensors"), "-o", str(tmp_path / "e"), "--device", "cpu",
            "--similar", "0", "--max-examples", "20"]))
    ok(run([MONOLAB, "explore", str(tmp_path / "e"), "-o", str(tmp_path / "site")]))
    files = [os.path.join(p, f) for p, _, fs in os.walk(tmp_path / "site") for f in fs]
    blocks = [f for f in files if f"{os.sep}b{os.sep}" in f]
    assert len(blocks) == math.ceil(n / 64) and len(files) <= len(blocks) + 64 + 6
    size = sum(os.path.getsize(f) for f in files)
    examples = sum(1 for _ in open(tmp_path / "e" / "examples.csv")) - 1
    assert size < 150 * examples + 100 * n, (size, examples)  # bytes: about 7x under the old per-neuron layout
    best = min(index_load_ms(browser, tmp_path / "site") for _ in range(3))
    print(f"36,864 neurons: {len(files)} files, {size / 1e6:.1f} MB, index drawn in {best} ms")
    assert best < 1000
    open_hash(browser, tmp_path / "site", "#L=0&n=36863")  # the last block opens too
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#view-neuron h1").text == "Neuron 36863")
    assert console_errors(browser) == []


def index_load_ms(driver, site):
    driver.get("about:blank")
    open_hash(driver, site, "#L=0")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.neurons tbody tr"))
    return int(driver.execute_script("return document.documentElement.dataset.shownAt"))


def test_input_mismatch_names_the_embedded_file(lm, tmp_path):
    e = lm / "embed_model_L0"
    real = open(e / "embed_settings.txt").read().split("input=")[1].split("\n")[0]
    other = tmp_path / "other.safetensors"
    save(str(other), {"pre_mlp": np.zeros((8, 4), np.float32), "W_in": np.zeros((4, 7), np.float32)},
         {"model": "x", "layer": "0"})
    r = run([MONOLAB, "explore", str(e), "-o", str(tmp_path / "site"), "--input", str(other)])
    err = r.stderr.strip().splitlines()[-1]  # after the progress line, the refusal in one line
    assert r.returncode == 2 and f"it was embedded from {real}" in err and str(other) in err and "7 neurons" in err, r.stderr
    # the same neurons but fewer rows than embed's examples reach
    save(str(other), {"pre_mlp": np.zeros((8, 32), np.float32), "W_in": np.zeros((32, 128), np.float32)},
         {"model": "x", "layer": "0"})
    r = run([MONOLAB, "explore", str(e), "-o", str(tmp_path / "site"), "--input", str(other)])
    assert r.returncode == 2 and f"it was embedded from {real}" in r.stderr and "has 8 rows" in r.stderr, r.stderr
