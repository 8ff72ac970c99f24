/* monolab explorer: plain JS, no libraries, no network. Data come as script
 * files calling ML.layers / ML.index / ML.vocab / ML.block / ML.keys,
 * because fetch() of local files is blocked on file:// while <script src>
 * is not; blocks of neurons and token-search shards carry gzip-compressed
 * JSON as base64, inflated with DecompressionStream. Views follow the URL
 * hash, which holds all of a view's state:
 *   #L=0&sort=n_clusters&dir=-1&p=2   a layer's neuron table, sorted, page 3
 *   #L=0&n=12&c=1&v=line              neuron 12 on cluster tab 1, one line per example
 *   #L=0&q=the                        which neurons have "the" as key token */
"use strict";
const ML = (() => {
  const PAGE = 100, MERGE_GREY = "#8c959f";
  /* Distinct colours, none grey (grey is a merge above the cut): 16 by hand,
   * then hues a golden angle apart at alternating lightness. */
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                   "#17becf", "#0b3d91", "#f4a6c6", "#006d2c", "#ffd92f", "#7b2d8e", "#a6d854", "#b15928"];
  const NS = "http://www.w3.org/2000/svg";
  const st = { layers: [], index: {}, vocab: {}, packed: {}, loading: {}, order: null, sortedFor: null, last: null };
  const $ = (id) => document.getElementById(id);
  const colour = (c) => (c < PALETTE.length ? PALETTE[c]
    : `hsl(${((c - PALETTE.length) * 137.508) % 360}, 70%, ${c % 2 ? 38 : 55}%)`);
  const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : Number.isInteger(x) ? String(x) : x.toFixed(d));

  function el(tag, attrs = {}, ...kids) {
    const e = tag.startsWith("svg:") ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
  }

  /* ---------- data ---------- */
  function load(src) { // a data script, once; resolves when it has run
    if (!st.loading[src])
      st.loading[src] = new Promise((resolve, reject) => {
        const s = el("script", { src });
        s.onload = resolve;
        s.onerror = () => { delete st.loading[src]; reject(new Error("cannot load " + src)); };
        document.head.append(s);
      });
    return st.loading[src];
  }

  async function unpack(b64) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  const dir = (L) => "data/" + st.layers[L].dir;
  async function neuronData(L, n) {
    const k = Math.floor(n / st.index[L].block);
    await load(`${dir(L)}/b/${k}.js`);
    const block = await st.packed[`b${L}:${k}`];
    return block[n - k * st.index[L].block];
  }
  async function vocab(L) {
    if (st.index[L].vocab) await load(`${dir(L)}/vocab.js`);
    return st.vocab[L] || [];
  }
  async function keyShard(L, id) {
    const s = id % st.index[L].shards;
    await load(`${dir(L)}/k/${s}.js`);
    return st.packed[`k${L}:${s}`];
  }

  /* A token's text with whitespace made visible where it would vanish: a
   * token that is only whitespace shows ␣ per space, ↵ per newline, ⇥ per tab. */
  function visible(text) {
    const glyphs = (s) => s.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
    return text.trim() === "" ? glyphs(text) || "∅" : text.replace(/\n/g, "↵");
  }
  const tokText = (voc, id) => (voc[id] !== undefined ? voc[id] : "#" + id);
  /* [[token id, examples(, cluster)], ...] as chips; with a cluster, its colour. */
  function keyChips(voc, keys, limit) {
    return el("span", { class: "keys" }, ...keys.slice(0, limit).map(([id, k, c]) =>
      el("span", { class: "key-chip", title: `key token of ${k} example${k === 1 ? "" : "s"}` +
                                             (c === undefined ? "" : ` of cluster ${c}`) },
         c === undefined ? null : el("span", { class: "swatch", style: "background:" + colour(c) }),
         el("code", { text: visible(tokText(voc, id)) }), el("small", { text: "×" + k }))));
  }

  /* ---------- the URL ---------- */
  const INT = /^\d+$/;
  function parseHash() {
    const h = new URLSearchParams(location.hash.slice(1)), r = { bad: null };
    const int = (k, dflt) => {
      if (!h.has(k)) return dflt;
      if (!INT.test(h.get(k))) { r.bad = r.bad || `${k}=${h.get(k)} is not a valid ${k === "n" ? "neuron id" : "number"}`; return dflt; }
      return parseInt(h.get(k), 10);
    };
    r.L = int("L", 0); r.n = int("n", null); r.c = int("c", 0); r.p = int("p", 0);
    r.sort = h.get("sort") || "neuron";
    r.dir = h.get("dir") === "-1" ? -1 : 1;
    r.v = h.get("v") === "line" ? "line" : "wrap";
    r.q = h.has("q") ? h.get("q") : null;
    return r;
  }
  function link(o) {
    const p = new URLSearchParams({ L: o.L });
    if (o.q !== null && o.q !== undefined) p.set("q", o.q);
    else if (o.n !== null && o.n !== undefined) {
      p.set("n", o.n); p.set("c", o.c || 0);
      if (o.v === "line") p.set("v", "line");
    } else {
      if (o.sort && o.sort !== "neuron") p.set("sort", o.sort);
      if (o.dir === -1) p.set("dir", -1);
      if (o.p) p.set("p", o.p);
    }
    return "#" + p.toString();
  }
  const neuronLink = (L, n, c, v) => link({ L, n, c, v });

  function status(msg, error) {
    const s = $("status");
    s.textContent = msg || "";
    s.hidden = !msg;
    s.classList.toggle("error", !!error);
  }
  function showOnly(id) {
    for (const v of ["view-index", "view-neuron", "view-search"]) $(v).hidden = v !== id;
    // when the view was drawn, in ms since navigation began (the tests time the index with it)
    document.documentElement.dataset.shownAt = Math.round(performance.now());
  }
  function fail(msg) { // an error replaces the page, never sits under an old one
    showOnly(null);
    status(msg, true);
    document.title = "error · monolab explorer";
  }

  async function route() {
    const r = parseHash(), page = `${r.L}:${r.n}:${r.q}:${r.p}`;
    if (page !== st.last) window.scrollTo(0, 0); // every page opens at the top (tabs, views and sorting keep it)
    st.last = page;
    if (r.bad) { fail("bad URL: " + r.bad); return; }
    if (!st.layers[r.L]) { fail(`bad URL: no layer ${r.L} in this site (layers 0–${st.layers.length - 1})`); return; }
    $("layer").value = String(r.L);
    try {
      await load(dir(r.L) + "/index.js");
      const idx = st.index[r.L];
      if (r.q !== null) { await showSearch(idx, r.q); return; }
      if (r.n === null) {
        if (!idx.cols.includes(r.sort)) { fail(`bad URL: sort=${r.sort} is not a column`); return; }
        showIndex(idx, r, await vocab(r.L));
        return;
      }
      if (!(r.n < idx.rows.length)) { fail(`bad URL: layer ${r.L} has no neuron ${r.n} (ids run 0–${idx.rows.length - 1})`); return; }
      const [nd, voc] = await Promise.all([neuronData(r.L, r.n), vocab(r.L)]);
      if (r.c >= Math.max(1, nd.clusters.length)) { fail(`bad URL: neuron ${r.n} has no cluster ${r.c}`); return; }
      showNeuron(idx, nd, voc, r);
    } catch (e) {
      fail(e.message);
    }
  }

  /* ---------- charts ---------- */
  function barChart(bins, { labels, title, xTitle, cls, highlight }) {
    const W = 560, H = 200, L = 46, B = 30, bw = (W - L - 8) / bins.length, most = Math.max(1, ...bins);
    const svg = el("svg:svg", { class: cls, viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
    for (let t = 0; t <= 4; t++) {
      const y = H - B - (t / 4) * (H - B - 10);
      svg.append(el("svg:line", { x1: L, x2: W - 4, y1: y, y2: y, stroke: "#eaeef2" }),
                 el("svg:text", { x: L - 6, y: y + 4, "text-anchor": "end", text: Math.round((t / 4) * most) }));
    }
    bins.forEach((n, i) => {
      const h = (n / most) * (H - B - 10), x = L + i * bw;
      const r = el("svg:rect", { class: "bar-rect", x: x + 1, y: H - B - h, width: Math.max(1, bw - 2), height: h });
      r.append(el("svg:title", { text: title(n, i) }));
      svg.append(r);
      if (highlight && highlight.bins[i]) {
        const hh = (highlight.bins[i] / most) * (H - B - 10);
        svg.append(el("svg:rect", { class: "bar-hi", x: x + 1, y: H - B - hh, width: Math.max(1, bw - 2), height: hh,
                                    fill: highlight.colour }));
      }
      if (labels[i] !== null) svg.append(el("svg:text", { x: x + bw / 2, y: H - B + 14, "text-anchor": "middle", text: labels[i] }));
    });
    svg.append(el("svg:text", { x: (W + L) / 2, y: H - 2, "text-anchor": "middle", text: xTitle }));
    return svg;
  }

  function clusterHistogram(values) {
    const top = Math.max(1, ...values), cap = Math.min(top, 40); // a long tail goes into the last bar
    const bins = new Array(cap + 1).fill(0);
    for (const v of values) bins[Math.min(v, cap)]++;
    const tail = (i) => (i === cap && cap < top ? "+" : "");
    return barChart(bins, { cls: "hist", xTitle: "clusters per neuron",
      labels: bins.map((_, i) => (bins.length <= 20 || i % 5 === 0 ? i + tail(i) : null)),
      title: (n, i) => `${n} neurons with ${i}${tail(i)} clusters` });
  }

  /* Where the selected examples sit against the neuron's maximum: 10-point
   * bins of percent of the maximum, the active cluster's share in its colour. */
  function activationHistogram(nd, active) {
    const lo = Math.min(70, ...nd.acts.map((a) => Math.floor(a / 10) * 10)), nb = (100 - lo) / 10 + 1;
    const bin = (a) => Math.max(0, Math.min(nb - 1, Math.floor((a - lo) / 10)));
    const bins = new Array(nb).fill(0), mine = new Array(nb).fill(0);
    nd.acts.forEach((a, i) => { bins[bin(a)]++; if (nd.labels[i] === active) mine[bin(a)]++; });
    return barChart(bins, { cls: "act-hist", xTitle: `activation, % of the neuron's maximum ${fmt(nd.max, 3)}`,
      labels: bins.map((_, i) => (i === nb - 1 ? "100" : lo + 10 * i + "–")),
      title: (n, i) => `${n} selected examples at ${lo + 10 * i}${i === nb - 1 ? "" : "–" + (lo + 10 * i + 10)}% of the maximum (${mine[i]} in cluster ${active})`,
      highlight: { bins: mine, colour: colour(active) } });
  }

  /* ---------- the layer's neuron table ---------- */
  function sortedOrder(idx, col, d) {
    const key = col + d + ":" + idx.layer;
    if (st.sortedFor === key) return st.order;
    const c = idx.cols.indexOf(col);
    const order = idx.rows.map((_, i) => i);
    order.sort((a, b) => {
      const x = idx.rows[a][c], y = idx.rows[b][c];
      if (x === null || y === null) return (x === null) - (y === null) || a - b; // undefined metrics last
      return (x - y) * d || a - b;
    });
    st.sortedFor = key;
    st.order = order;
    return order;
  }

  function neuronTable(idx, r, voc) {
    const cols = idx.cols, hasKeys = idx.keys.length > 0;
    const order = sortedOrder(idx, r.sort, r.dir), pages = Math.max(1, Math.ceil(order.length / PAGE));
    const p = Math.min(r.p, pages - 1), at = (o) => link({ L: idx.layer, sort: r.sort, dir: r.dir, p: 0, ...o });
    const head = el("tr", {}, ...cols.map((c) => el("th", {
      "data-col": c, title: "sort by " + c,
      class: c === r.sort ? (r.dir > 0 ? "sorted-asc" : "sorted-desc") : "",
      onclick: () => { location.hash = at({ sort: c, dir: r.sort === c ? -r.dir : c === "neuron" ? 1 : -1 }); } },
      c.replace(/_/g, " "))), hasKeys ? el("th", { class: "keys-col", title: "the top key token of each of its largest clusters" }, "key tokens by cluster") : null);
    const body = el("tbody");
    for (const i of order.slice(p * PAGE, (p + 1) * PAGE)) {
      const row = idx.rows[i];
      body.append(el("tr", { "data-neuron": row[0], onclick: () => { location.hash = neuronLink(idx.layer, row[0]); } },
        ...row.map((v, k) => el("td", {}, k === 0 ? el("a", { href: neuronLink(idx.layer, v), text: v }) : fmt(v))),
        hasKeys ? el("td", { class: "keys-col" }, keyChips(voc, idx.keys[i], 4)) : null));
    }
    const pager = el("div", { class: "pager" },
      el("button", { text: "‹ prev", onclick: () => { location.hash = at({ sort: r.sort, dir: r.dir, p: p - 1 }); },
                     ...(p ? {} : { disabled: "" }) }),
      el("span", { text: `neurons ${order.length ? p * PAGE + 1 : 0}–${Math.min(order.length, (p + 1) * PAGE)} of ${order.length}` }),
      el("button", { text: "next ›", onclick: () => { location.hash = at({ sort: r.sort, dir: r.dir, p: p + 1 }); },
                     ...(p + 1 < pages ? {} : { disabled: "" }) }));
    return el("div", {}, el("table", { class: "neurons" }, el("thead", {}, head), body), pager);
  }

  function showIndex(idx, r, voc) {
    const v = $("view-index"), col = (name) => idx.cols.indexOf(name);
    const live = idx.rows.filter((row) => row[col("n_examples")] > 0);
    const mean = (k) => { const xs = idx.rows.map((row) => row[col(k)]).filter((x) => x !== null);
                          return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; };
    const stats = [["neurons", idx.rows.length], ["with examples", live.length],
                   ["mean clusters", live.length ? live.reduce((a, row) => a + row[col("n_clusters")], 0) / live.length : null],
                   ["mean intra dist", mean("mean_intra")], ["mean inter dist", mean("mean_inter")]];
    if (idx.toy) stats.push(["mean true features", live.length ? live.reduce((a, row) => a + row[col("true_features")], 0) / live.length : null]);
    v.replaceChildren(
      el("h1", { text: idx.name }), el("p", { class: "sub", text: idx.desc + " · clusters cut at distance " + idx.threshold }),
      el("div", { class: "stats" }, ...stats.map(([k, x]) => el("div", { class: "stat" }, el("b", { text: fmt(x, 2) }), el("span", { text: k })))),
      el("div", { class: "grid" },
        el("div", { class: "card" }, el("h2", { text: "Cluster counts" }), clusterHistogram(idx.rows.map((row) => row[col("n_clusters")]))),
        el("div", { class: "card" }, el("h2", { text: "How to read this" }),
          el("p", { text: "Each neuron's strongest activating examples are embedded and clustered (average linkage, " +
                          "cosine distance, cut at " + idx.threshold + "). More clusters suggest more distinct " +
                          "behaviours: a polysemantic neuron." }),
          el("p", { text: "Click a column to sort, a row to open the neuron" + (idx.tokens ? "; key tokens are the " +
                          "tokens its examples peak on (␣ a space, ↵ a newline); search one in the bar above." : ".") +
                          " On a neuron page, each tab is a cluster: its examples (★ the central one), where they " +
                          "sit against the neuron's maximum, the merge tree and the most similar clusters of other " +
                          "neurons." + (idx.toy ? " Toy models: examples show their active features; the true " +
                          "feature count stands beside the cluster count." : "") }))),
      el("div", { class: "card" }, el("h2", { text: "Neurons" }), neuronTable(idx, r, voc)));
    showOnly("view-index");
    status("");
    document.title = idx.name + " · monolab explorer";
  }

  /* ---------- token search ---------- */
  async function showSearch(idx, q) {
    const v = $("view-search"), voc = await vocab(idx.layer);
    const want = q.replace(/␣/g, " ").replace(/↵/g, "\n");
    const loose = want.trim().toLowerCase();
    const ids = [];
    voc.forEach((t, id) => { if (t === want || t === " " + want || (loose && t.trim().toLowerCase() === loose)) ids.push(id); });
    if (!voc.length && INT.test(want)) ids.push(+want); // no vocabulary: search by token id
    const hits = [];
    for (const id of ids) for (const [n, c, k] of (await keyShard(idx.layer, id))[id] || []) hits.push({ id, n, c, k });
    hits.sort((a, b) => b.k - a.k || a.n - b.n || a.c - b.c);
    const neurons = new Set(hits.map((h) => h.n)).size, SHOW = 200;
    v.replaceChildren(el("h1", {}, "Key token ", el("code", { class: "q", text: visible(want) })),
      el("p", { class: "sub", text: `${idx.name} · ${ids.length} matching token${ids.length === 1 ? "" : "s"} ` +
        `(exact, with a leading space, or ignoring case) · ${hits.length} clusters of ${neurons} neurons have one as key token` }),
      el("div", { class: "card" }, hits.length ? el("table", { class: "hits" },
        el("thead", {}, el("tr", {}, el("th", { text: "token" }), el("th", { text: "neuron" }), el("th", { text: "cluster" }),
           el("th", { text: "examples with it as key token" }))),
        el("tbody", {}, ...hits.slice(0, SHOW).map((h) => el("tr", { "data-neuron": h.n, "data-cluster": h.c },
          el("td", {}, el("code", { text: visible(tokText(voc, h.id)) })),
          el("td", {}, el("a", { class: "hit-link", href: neuronLink(idx.layer, h.n, h.c), text: "neuron " + h.n })),
          el("td", {}, el("span", { class: "swatch", style: "background:" + colour(h.c) }), " " + h.c),
          el("td", { text: h.k })))))
        : el("p", { class: "empty", text: ids.length ? "No neuron has this token as a key token." : "No token of the vocabulary matches." }),
        hits.length > SHOW ? el("p", { class: "legend", text: `the ${SHOW} clusters with the most such examples of ${hits.length}` }) : null));
    showOnly("view-search");
    status("");
    document.title = "token " + visible(want) + " · " + idx.name;
  }

  /* ---------- one neuron ---------- */
  function tokenSpans(voc, idx, ex, max) {
    return ex.a.map((pct, i) => {
      const act = i === ex.key ? ex.act : (pct / 100) * max;
      const raw = idx.tokens ? tokText(voc, ex.t[i]) : "row " + (ex.lo + i);
      const alpha = Math.max(0, Math.min(1, max > 0 ? act / max : 0));
      return el("span", { class: "tok" + (i === ex.key ? " key" : ""), "data-act": act, "data-pct": pct,
                          title: (i === ex.key ? "key token, activation " : "activation ≈ ") + fmt(act),
                          style: `background-color: rgba(var(--act), ${alpha.toFixed(3)})`,
                          text: i === ex.key || raw.trim() === "" ? visible(raw) : raw.replace(/\n/g, "↵") });
    });
  }

  function exampleText(voc, idx, ex, max, mode) {
    const spans = tokenSpans(voc, idx, ex, max);
    if (mode !== "line") return el("span", { class: "text" }, ...spans);
    // one line: the context before the key token is clipped on its left, the rest on its right
    return el("span", { class: "text line" }, el("span", { class: "before" }, el("span", {}, ...spans.slice(0, ex.key))),
              spans[ex.key], el("span", { class: "after" }, ...spans.slice(ex.key + 1)));
  }

  function features(ex) {
    const span = el("span", { class: "text" });
    if (!ex.f.length) span.append(el("span", { class: "empty", text: "no active feature" }));
    for (const [i, x] of ex.f)
      span.append(el("span", { class: "feat", title: "feature " + i + " = " + fmt(x),
                               style: `background-color: rgba(var(--act), ${Math.min(1, Math.abs(x)).toFixed(3)})`,
                               text: "f" + i + " " + fmt(x, 2) }));
    return span;
  }

  /* The merge tree as scipy draws it: leaves in the order of a left-first
   * walk from the root, a merge at the mean x of its children and at its
   * distance; branches inside one flat cluster take its colour. */
  function dendrogram(nd, active, thr) {
    const n = nd.labels.length, Z = nd.Z;
    const W = 560, H = 230, L = 40, B = 18, T = 12;
    const svg = el("svg:svg", { class: "dendro", viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
    if (n < 2) { svg.append(el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle",
                                             text: n ? "one example: nothing to merge" : "no examples" })); return svg; }
    const order = [], stack = [2 * n - 2];
    while (stack.length) {
      const id = stack.pop();
      if (id < n) order.push(id);
      else stack.push(Z[id - n][1], Z[id - n][0]);
    }
    const x = new Array(2 * n - 1), y = new Array(2 * n - 1).fill(0), lab = new Array(2 * n - 1);
    order.forEach((leaf, i) => { x[leaf] = i; lab[leaf] = nd.labels[leaf]; });
    const top = Math.max(thr, ...Z.map((z) => z[2] ?? 0)) * 1.08;
    const sx = (i) => L + ((i + 0.5) / n) * (W - L - 8), sy = (d) => H - B - (d / top) * (H - B - T);
    for (let t = 0; t <= 4; t++) {
      const d = (t / 4) * top;
      svg.append(el("svg:line", { x1: L, x2: W - 4, y1: sy(d), y2: sy(d), stroke: "#eaeef2" }),
                 el("svg:text", { x: L - 5, y: sy(d) + 4, "text-anchor": "end", text: d.toFixed(2) }));
    }
    Z.forEach(([a, b, d], i) => {
      const id = n + i;
      x[id] = (x[a] + x[b]) / 2;
      y[id] = d;
      lab[id] = lab[a] === lab[b] && d < thr ? lab[a] : -1;
      svg.append(el("svg:path", { d: `M${sx(x[a])},${sy(y[a])}V${sy(d)}H${sx(x[b])}V${sy(y[b])}`,
                                  stroke: lab[id] >= 0 ? colour(lab[id]) : MERGE_GREY, "data-cluster": lab[id],
                                  "stroke-width": lab[id] === active ? 2.4 : 1.4 }));
    });
    order.forEach((leaf, i) => svg.append(el("svg:circle", { cx: sx(i), cy: H - B + 5, r: n > 150 ? 1.5 : 3,
                                                             fill: colour(nd.labels[leaf]) })));
    svg.append(el("svg:line", { class: "cut-line", x1: L, x2: W - 4, y1: sy(thr), y2: sy(thr) }),
               el("svg:text", { class: "cut-label", x: W - 6, y: sy(thr) - 4, "text-anchor": "end", text: "cut " + thr }));
    return svg;
  }

  function similarList(idx, voc, cl) {
    const shown = cl.similar.filter(([, , x]) => x > 0); // at or below zero a cluster is not similar
    if (!shown.length) return el("p", { class: "empty", text: "no cluster of another neuron has a positive cosine similarity" });
    return el("ul", { class: "similar" }, ...shown.map(([n2, c2, x, key, ids]) => el("li", {},
      el("a", { class: "similar-link", href: neuronLink(idx.layer, n2, c2) },
         el("span", { class: "swatch", style: "background:" + colour(c2) }), ` neuron ${n2} · cluster ${c2}`),
      el("span", { class: "s", title: "cosine similarity of the two clusters' central embeddings", text: "cosine similarity " + fmt(x, 2) }),
      idx.tokens ? el("span", { class: "preview text", title: "its central example: key token and context" },
        ...ids.map((id, i) => el("span", { class: i === key ? "tok key" : "tok",
                                            text: i === key ? visible(tokText(voc, id)) : tokText(voc, id).replace(/\n/g, "↵") })))
        : null)));
  }

  function showNeuron(idx, nd, voc, r) {
    const v = $("view-neuron"), s = nd.stats, k = nd.clusters.length, active = r.c;
    const stats = [["examples", s.n_examples], ["clusters", s.n_clusters]];
    if ("true_features" in s) stats.push(["true features", s.true_features]);
    stats.push(["max activation", nd.max], ["max dist", s.max_dist], ["mean intra", s.mean_intra], ["mean inter", s.mean_inter]);
    const nav = el("div", { class: "nav" }, el("a", { href: link({ L: idx.layer }), text: "← all neurons" }),
      nd.n > 0 ? el("a", { href: neuronLink(idx.layer, nd.n - 1, 0, r.v), text: "‹ " + (nd.n - 1) }) : null,
      nd.n + 1 < idx.rows.length ? el("a", { href: neuronLink(idx.layer, nd.n + 1, 0, r.v), text: nd.n + 1 + " ›" }) : null);
    const head = [nav, el("h1", { text: "Neuron " + nd.n }), el("p", { class: "sub", text: idx.name }),
      el("div", { class: "stats" }, ...stats.map(([a, x]) => el("div", { class: "stat" }, el("b", { text: fmt(x) }), el("span", { text: a }))))];
    if (!k) {
      v.replaceChildren(...head, el("div", { class: "card" }, el("p", { class: "empty",
        text: "This neuron has no qualifying examples (its maximum activation is not positive)." })));
    } else {
      const cl = nd.clusters[active];
      const tabs = el("div", { class: "tabs", role: "tablist" }, ...nd.clusters.map((c, i) => el("button", {
        class: "tab" + (i === active ? " active" : ""), role: "tab", "data-cluster": i,
        onclick: () => { location.hash = neuronLink(idx.layer, nd.n, i, r.v); } },
        el("span", { class: "swatch", style: "background:" + colour(i) }), `cluster ${i} · ${c.size}`,
        idx.tokens ? keyChips(voc, c.keys, 2) : null)));
      const mode = el("div", { class: "mode" }, ...[["wrap", "wrapped"], ["line", "one line each"]].map(([m, t]) =>
        el("a", { class: "mode-" + m + (r.v === m ? " on" : ""), href: neuronLink(idx.layer, nd.n, active, m), text: t })));
      const list = el("ul", { class: "examples" + (r.v === "line" ? " compact" : "") }, ...cl.ex.map((e, i) =>
        el("li", { class: "example" + (i ? "" : " central") },
          el("span", { class: "actv", title: "example " + e.id + (idx.tokens || idx.toy ? "" : ", row " + e.row), text: fmt(e.act, 2) }),
          idx.toy ? features(e) : exampleText(voc, idx, e, nd.max, r.v))));
      v.replaceChildren(...head, tabs,
        el("div", { class: "grid" },
          el("div", { class: "card" }, el("h3", { class: "cluster-head" }, el("span", { class: "swatch", style: "background:" + colour(active) }),
              ` Cluster ${active}`, el("span", { class: "sub", text: ` · ${cl.size} example${cl.size === 1 ? "" : "s"} · mean intra distance ${fmt(cl.intra)}` })),
            idx.tokens ? el("p", { class: "cluster-keys" }, "key tokens ", keyChips(voc, cl.keys, 5)) : null,
            idx.toy ? null : mode, list,
            el("p", { class: "legend", text: `${cl.ex.length} of ${cl.size} shown; ★ the central example (highest mean similarity to the rest), then by activation.` +
              (idx.toy ? "" : " Token colour: activation relative to the neuron's maximum; the key token is outlined.") })),
          el("div", {},
            el("div", { class: "card" }, el("h2", { text: "Activations of the selected examples" }), activationHistogram(nd, active),
              el("p", { class: "legend", text: `All ${nd.acts.length} selected examples, cluster ${active}'s part in its colour.` })),
            el("div", { class: "card", style: "margin-top:16px" }, el("h2", { text: "Merge tree" }), dendrogram(nd, active, idx.threshold),
              el("p", { class: "legend", text: "Average linkage over cosine distances; the dashed line is the cut; grey: merges above it." })),
            el("div", { class: "card", style: "margin-top:16px" }, el("h2", { text: "Similar clusters of other neurons" }), similarList(idx, voc, cl)))));
    }
    showOnly("view-neuron");
    status("");
    document.title = "neuron " + nd.n + " · " + idx.name;
  }

  function init() {
    const sel = $("layer");
    st.layers.forEach((l, i) => sel.append(el("option", { value: i, text: l.name })));
    sel.addEventListener("change", () => { location.hash = link({ L: +sel.value }); });
    $("search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const L = +sel.value, idx = st.index[L], t = $("neuron-id").value.trim();
      const ok = idx && INT.test(t) && +t < idx.rows.length;
      $("search-msg").textContent = ok ? "" : `neuron ids run 0–${idx ? idx.rows.length - 1 : "?"}`;
      if (ok) location.hash = neuronLink(L, +t);
    });
    $("token-search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = $("token-q").value;
      if (q !== "") location.hash = link({ L: +sel.value, q });
    });
    window.addEventListener("hashchange", route);
    route();
  }
  document.addEventListener("DOMContentLoaded", init);

  return {
    layers: (l) => { st.layers = l; },
    index: (d) => { st.index[d.layer] = d; },
    vocab: (L, v) => { st.vocab[L] = v; },
    block: (L, k, b64) => { st.packed[`b${L}:${k}`] = unpack(b64); },
    keys: (L, s, b64) => { st.packed[`k${L}:${s}`] = unpack(b64); },
    colour,
  };
})();
