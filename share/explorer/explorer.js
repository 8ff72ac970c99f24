/* monolab explorer: plain JS, no libraries, no network. Data come as script
 * files (data/layers.js, data/L<l>/index.js, data/L<l>/n/<j>.js) calling
 * ML.layers / ML.index / ML.neuron, because fetch() of local JSON is
 * blocked on file:// while <script src> is not. Views follow the URL hash:
 * #L=0 is a layer's neuron table, #L=0&n=12&c=1 neuron 12 on cluster tab 1. */
"use strict";
const ML = (() => {
  const PAGE = 100;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                   "#bcbd22", "#17becf"];
  const NS = "http://www.w3.org/2000/svg";
  const st = { layers: [], index: {}, neurons: {}, loading: {}, sort: { col: "neuron", dir: 1 }, page: 0,
               sortedFor: null, order: null };
  const $ = (id) => document.getElementById(id);
  const colour = (c) => PALETTE[c % PALETTE.length];
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

  /* A data script, once; resolves when it has run. */
  function load(src) {
    if (!st.loading[src])
      st.loading[src] = new Promise((resolve, reject) => {
        const s = el("script", { src });
        s.onload = resolve;
        s.onerror = () => { delete st.loading[src]; reject(new Error("cannot load " + src)); };
        document.head.append(s);
      });
    return st.loading[src];
  }

  function parseHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    const num = (k) => (h.has(k) && h.get(k) !== "" ? parseInt(h.get(k), 10) : null);
    return { L: num("L") ?? 0, n: num("n"), c: num("c") ?? 0 };
  }
  const link = (L, n, c) => "#L=" + L + (n === null || n === undefined ? "" : "&n=" + n + "&c=" + (c || 0));

  function status(msg) { const s = $("status"); s.textContent = msg || ""; s.hidden = !msg; }

  async function route() {
    const r = parseHash();
    const layer = st.layers[r.L];
    if (!layer) { status("no layer " + r.L + " in this site"); return; }
    $("layer").value = String(r.L);
    try {
      await load("data/" + layer.dir + "/index.js");
      const idx = st.index[r.L];
      if (r.n === null) { showIndex(idx); return; }
      if (!(r.n >= 0 && r.n < idx.rows.length)) { status("layer " + r.L + " has no neuron " + r.n); return; }
      await load("data/" + layer.dir + "/n/" + r.n + ".js");
      showNeuron(idx, st.neurons[r.L + ":" + r.n], r.c);
    } catch (e) {
      status(e.message);
    }
  }

  /* ---------- the layer's neuron table ---------- */
  function histogram(values) {
    const counts = new Map();
    for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
    const top = Math.max(1, ...values);
    const cap = Math.min(top, 40); // a long tail goes into the last bar
    const bins = new Array(cap + 1).fill(0);
    for (const [v, n] of counts) bins[Math.min(v, cap)] += n;
    const W = 560, H = 220, L = 46, B = 28, bw = (W - L - 8) / bins.length, most = Math.max(...bins);
    const svg = el("svg:svg", { class: "hist", viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
    for (let t = 0; t <= 4; t++) {
      const y = H - B - (t / 4) * (H - B - 10);
      svg.append(el("svg:line", { x1: L, x2: W - 4, y1: y, y2: y, stroke: "#eaeef2" }),
                 el("svg:text", { x: L - 6, y: y + 4, "text-anchor": "end", text: Math.round((t / 4) * most) }));
    }
    bins.forEach((n, i) => {
      const h = (n / most) * (H - B - 10), x = L + i * bw;
      const r = el("svg:rect", { class: "bar-rect", x: x + 1, y: H - B - h, width: Math.max(1, bw - 2), height: h });
      r.append(el("svg:title", { text: `${n} neurons with ${i}${i === cap && cap < top ? "+" : ""} clusters` }));
      svg.append(r);
      if (bins.length <= 20 || i % 5 === 0)
        svg.append(el("svg:text", { x: x + bw / 2, y: H - B + 14, "text-anchor": "middle",
                                    text: i + (i === cap && cap < top ? "+" : "") }));
    });
    svg.append(el("svg:text", { x: (W + L) / 2, y: H - 2, "text-anchor": "middle", text: "clusters per neuron" }));
    return svg;
  }

  function sortedOrder(idx) {
    const key = st.sort.col + st.sort.dir + ":" + idx.layer;
    if (st.sortedFor === key) return st.order;
    const c = idx.cols.indexOf(st.sort.col), d = st.sort.dir;
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

  function neuronTable(idx) {
    const cols = idx.cols;
    const wrap = el("div");
    const order = sortedOrder(idx), pages = Math.ceil(order.length / PAGE);
    st.page = Math.min(st.page, Math.max(0, pages - 1));
    const head = el("tr", {}, ...cols.map((c) => el("th", {
      "data-col": c, title: "sort by " + c,
      class: c === st.sort.col ? (st.sort.dir > 0 ? "sorted-asc" : "sorted-desc") : "",
      onclick: () => {
        st.sort = { col: c, dir: st.sort.col === c ? -st.sort.dir : c === "neuron" ? 1 : -1 };
        st.page = 0;
        render();
      } }, c.replace(/_/g, " "))));
    const body = el("tbody");
    for (const i of order.slice(st.page * PAGE, (st.page + 1) * PAGE)) {
      const row = idx.rows[i];
      body.append(el("tr", { "data-neuron": row[0], onclick: () => { location.hash = link(idx.layer, row[0]); } },
        ...row.map((v, k) => el("td", {}, k === 0 ? el("a", { href: link(idx.layer, v), text: v }) : fmt(v)))));
    }
    const pager = el("div", { class: "pager" },
      el("button", { text: "‹ prev", onclick: () => { st.page--; render(); }, ...(st.page ? {} : { disabled: "" }) }),
      el("span", { text: `neurons ${order.length ? st.page * PAGE + 1 : 0}–${Math.min(order.length, (st.page + 1) * PAGE)} of ${order.length}` }),
      el("button", { text: "next ›", onclick: () => { st.page++; render(); },
                     ...(st.page + 1 < pages ? {} : { disabled: "" }) }));
    wrap.append(el("table", { class: "neurons" }, el("thead", {}, head), body), pager);
    function render() { wrap.replaceWith(neuronTable(idx)); }
    return wrap;
  }

  function showIndex(idx) {
    const v = $("view-index"), col = (name) => idx.cols.indexOf(name);
    const nc = idx.rows.map((r) => r[col("n_clusters")]);
    const live = idx.rows.filter((r) => r[col("n_examples")] > 0);
    const mean = (k) => { const xs = idx.rows.map((r) => r[col(k)]).filter((x) => x !== null);
                          return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null; };
    const stats = [["neurons", idx.rows.length], ["with examples", live.length],
                   ["mean clusters", live.length ? live.reduce((a, r) => a + r[col("n_clusters")], 0) / live.length : null],
                   ["mean intra dist", mean("mean_intra")], ["mean inter dist", mean("mean_inter")]];
    if (idx.toy) stats.push(["mean true features", live.length ? live.reduce((a, r) => a + r[col("true_features")], 0) / live.length : null]);
    v.replaceChildren(
      el("h1", { text: idx.name }), el("p", { class: "sub", text: idx.desc + " · clusters cut at distance " + idx.threshold }),
      el("div", { class: "stats" }, ...stats.map(([k, x]) => el("div", { class: "stat" }, el("b", { text: fmt(x, 2) }), el("span", { text: k })))),
      el("div", { class: "grid" },
        el("div", { class: "card" }, el("h2", { text: "Cluster counts" }), histogram(nc)),
        el("div", { class: "card" }, el("h2", { text: "How to read this" }),
          el("p", { text: "Each neuron's strongest activating examples are embedded and clustered (average linkage, " +
                          "cosine distance, cut at " + idx.threshold + "). More clusters suggest more distinct " +
                          "behaviours: a polysemantic neuron." }),
          el("p", { text: "Click a column to sort, a row to open the neuron. On a neuron page, each tab is a " +
                          "cluster: its examples (★ the central one), the merge tree and the most similar " +
                          "clusters of other neurons." + (idx.toy ? " Toy models: examples show their active " +
                          "features; the true feature count stands beside the cluster count." : "") }))),
      el("div", { class: "card" }, el("h2", { text: "Neurons" }), neuronTable(idx)));
    $("view-neuron").hidden = true;
    v.hidden = false;
    status("");
    document.title = idx.name + " · monolab explorer";
  }

  /* ---------- one neuron ---------- */
  function tokens(ex, maxAct) {
    const span = el("span", { class: "text" });
    ex.t.forEach(([text, a], i) => {
      const alpha = maxAct > 0 && a > 0 ? Math.min(1, a / maxAct) : 0;
      span.append(el("span", { class: "tok" + (i === ex.key ? " key" : ""), "data-act": a === null ? "" : a,
                               title: "activation " + fmt(a), style: `background-color: rgba(var(--act), ${alpha.toFixed(3)})`,
                               text: text.replace(/\n/g, "↵") }));
    });
    return span;
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
  function dendrogram(nd, active) {
    const n = nd.labels.length, Z = nd.Z, thr = st.index[nd.layer].threshold;
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
      const c = lab[id] >= 0 ? colour(lab[id]) : "#8c959f";
      svg.append(el("svg:path", { d: `M${sx(x[a])},${sy(y[a])}V${sy(d)}H${sx(x[b])}V${sy(y[b])}`, stroke: c,
                                  "stroke-width": lab[id] === active ? 2.4 : 1.4 }));
    });
    order.forEach((leaf, i) => svg.append(el("svg:circle", { cx: sx(i), cy: H - B + 5, r: n > 150 ? 1.5 : 3,
                                                             fill: colour(nd.labels[leaf]) })));
    svg.append(el("svg:line", { class: "cut-line", x1: L, x2: W - 4, y1: sy(thr), y2: sy(thr) }),
               el("svg:text", { class: "cut-label", x: W - 6, y: sy(thr) - 4, "text-anchor": "end", text: "cut " + thr }));
    return svg;
  }

  function showNeuron(idx, nd, active) {
    const v = $("view-neuron"), s = nd.stats, k = nd.clusters.length;
    active = Math.max(0, Math.min(active, k - 1));
    const maxAct = Math.max(0, ...nd.clusters.flatMap((c) => c.ex.map((e) => e.act ?? 0)));
    const stats = [["examples", s.n_examples], ["clusters", s.n_clusters]];
    if ("true_features" in s) stats.push(["true features", s.true_features]);
    stats.push(["max dist", s.max_dist], ["mean intra", s.mean_intra], ["mean inter", s.mean_inter]);
    const nav = el("div", { class: "nav" }, el("a", { href: link(nd.layer), text: "← all neurons" }),
      nd.n > 0 ? el("a", { href: link(nd.layer, nd.n - 1), text: "‹ " + (nd.n - 1) }) : null,
      nd.n + 1 < idx.rows.length ? el("a", { href: link(nd.layer, nd.n + 1), text: nd.n + 1 + " ›" }) : null);
    const head = [nav, el("h1", { text: "Neuron " + nd.n }), el("p", { class: "sub", text: idx.name }),
      el("div", { class: "stats" }, ...stats.map(([a, x]) => el("div", { class: "stat" }, el("b", { text: fmt(x) }), el("span", { text: a }))))];
    if (!k) {
      v.replaceChildren(...head, el("div", { class: "card" }, el("p", { class: "empty",
        text: "This neuron has no qualifying examples (its maximum activation is not positive)." })));
    } else {
      const cl = nd.clusters[active];
      const tabs = el("div", { class: "tabs", role: "tablist" }, ...nd.clusters.map((c, i) => el("button", {
        class: "tab" + (i === active ? " active" : ""), role: "tab", "data-cluster": i,
        onclick: () => { location.hash = link(nd.layer, nd.n, i); } },
        el("span", { class: "swatch", style: "background:" + colour(i) }), `cluster ${i} · ${c.size}`)));
      const list = el("ul", { class: "examples" }, ...cl.ex.map((e, i) => el("li", { class: "example" + (i ? "" : " central") },
        el("span", { class: "actv", title: "example " + e.id + (idx.tokens || idx.toy ? "" : ", row " + e.row), text: fmt(e.act, 2) }),
        idx.toy ? features(e) : tokens(e, maxAct))));
      const sim = cl.similar.length ? el("ul", { class: "similar" }, ...cl.similar.map(([n2, c2, x]) => el("li", {},
        el("a", { class: "similar-link", href: link(nd.layer, n2, c2), text: `neuron ${n2} · cluster ${c2}` }),
        el("span", { class: "s", text: fmt(x, 3) }))))
        : el("p", { class: "empty", text: "no clusters of other neurons" });
      v.replaceChildren(...head, tabs,
        el("div", { class: "grid" },
          el("div", { class: "card" }, el("h3", { class: "cluster-head" }, el("span", { class: "swatch", style: "background:" + colour(active) }),
              ` Cluster ${active}`, el("span", { class: "sub", text: ` · ${cl.size} example${cl.size === 1 ? "" : "s"} · mean intra distance ${fmt(cl.intra)}` })),
            list, el("p", { class: "legend", text: `${cl.ex.length} of ${cl.size} shown; ★ the central example (highest mean similarity to the rest), then by activation.` +
              (idx.toy ? "" : " Token colour: activation, relative to this neuron's largest shown.") })),
          el("div", {},
            el("div", { class: "card" }, el("h2", { text: "Merge tree" }), dendrogram(nd, active),
              el("p", { class: "legend", text: "Average linkage over cosine distances; the dashed line is the cut." })),
            el("div", { class: "card", style: "margin-top:16px" }, el("h2", { text: "Similar clusters of other neurons" }), sim))));
    }
    $("view-index").hidden = true;
    v.hidden = false;
    status("");
    document.title = "neuron " + nd.n + " · " + idx.name;
  }

  function init() {
    const sel = $("layer");
    st.layers.forEach((l, i) => sel.append(el("option", { value: i, text: l.name })));
    sel.addEventListener("change", () => { st.page = 0; location.hash = link(+sel.value); });
    $("search").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const L = +sel.value, n = parseInt($("neuron-id").value, 10), idx = st.index[L];
      const ok = idx && n >= 0 && n < idx.rows.length;
      $("search-msg").textContent = ok ? "" : `neuron ids run 0–${idx ? idx.rows.length - 1 : "?"}`;
      if (ok) location.hash = link(L, n);
    });
    window.addEventListener("hashchange", route);
    route();
  }
  document.addEventListener("DOMContentLoaded", init);

  return {
    layers: (l) => { st.layers = l; },
    index: (d) => { st.index[d.layer] = d; },
    neuron: (d) => { st.neurons[d.layer + ":" + d.n] = d; },
  };
})();
