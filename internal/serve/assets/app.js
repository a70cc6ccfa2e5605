// simdb's web page: the list of runs and a run's timeline and events,
// drawn from the server's JSON API. Hand-written, no dependencies: every
// value from the database goes into the page as text (textContent,
// attributes), never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PAGE_SIZES = [25, 50, 100, 250];
const nf = new Intl.NumberFormat("en-US");

// ---- small helpers --------------------------------------------------------

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids.flat()) if (k) e.append(k);
  return e;
}

function num(v) { return v === null || v === undefined ? "–" : nf.format(v); }
function say(msg) { document.getElementById("status").textContent = msg; }

function token() { return sessionStorage.getItem("simdb-token") || ""; }

// api GETs a JSON endpoint; a 401 shows the token form.
async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== "" && v !== undefined && v !== null) q.set(k, v);
  const url = path + (q.toString() ? "?" + q : "");
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  const resp = await fetch(url, { headers });
  let body;
  try { body = await resp.json(); } catch { body = { detail: resp.statusText }; }
  if (resp.status === 401) document.getElementById("token-form").hidden = false;
  if (!resp.ok) throw new Error(body.detail || resp.statusText);
  return body;
}

function simPath(id) { return "/simulations/" + encodeURIComponent(id); }

function downloadURL(id, format) {
  const q = new URLSearchParams({ format });
  if (token()) q.set("access_token", token());
  return simPath(id) + "/export?" + q;
}

function colorOf(i, n) {
  return `hsl(${Math.round((i * 360) / Math.max(n, 1) + 210) % 360} 62% ${i % 2 ? 58 : 44}%)`;
}

function swatch(color) {
  return svg("svg", { class: "swatch", viewBox: "0 0 10 10", "aria-hidden": "true" },
    svg("rect", { width: 10, height: 10, rx: 2, fill: color }));
}

function crumbs(...parts) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...parts.flatMap((p, i) => (i ? [" / ", p] : [p])));
}

function showError(where, err) {
  where.replaceChildren(el("p", { class: "error", role: "alert", text: String(err.message || err) }));
}

// ---- list of runs ---------------------------------------------------------

async function listPage(main) {
  crumbs(el("span", { text: "Runs" }));
  document.title = "simdb: runs";
  const status = el("select", { id: "f-status", name: "status" },
    ["", "completed", "running", "failed"].map((s) => el("option", { value: s, text: s || "any" })));
  const exp = el("input", { id: "f-exp", name: "experiment_run_id", type: "search", placeholder: "experiment run id" });
  const out = el("div", { class: "table-wrap" });
  const form = el("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); load(); } },
    el("div", {}, el("label", { for: "f-status", text: "Status" }), status),
    el("div", {}, el("label", { for: "f-exp", text: "Experiment" }), exp),
    el("button", { type: "submit", class: "primary", text: "Show" }));
  main.replaceChildren(el("h1", { text: "Runs" }), el("section", { class: "card" }, form, out));
  async function load() {
    try {
      const r = await api("/simulations", { status: status.value, experiment_run_id: exp.value.trim() });
      say(`${r.total} runs`);
      if (!r.simulations.length) { out.replaceChildren(el("p", { class: "muted", text: "No runs." })); return; }
      const head = ["Run", "Status", "Started", "Events", "Ticks", "Agents", "Arrivals", "Settlements", "Rate", "Cost (cents)"];
      out.replaceChildren(el("table", { id: "runs" },
        el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i > 2 ? "num" : null, text: h })))),
        el("tbody", {}, r.simulations.map((s) => el("tr", {},
          el("td", {}, el("a", { href: "#/run/" + encodeURIComponent(s.simulation_id), text: s.simulation_id })),
          el("td", {}, el("span", { class: "badge " + s.status, text: s.status })),
          el("td", { text: new Date(s.started_at).toLocaleString() }),
          el("td", { class: "num", text: num(s.event_count) }),
          el("td", { class: "num", text: num(s.total_ticks) }),
          el("td", { class: "num", text: num(s.num_agents) }),
          el("td", { class: "num", text: num(s.total_arrivals) }),
          el("td", { class: "num", text: num(s.total_settlements) }),
          el("td", { class: "num", text: (s.settlement_rate * 100).toFixed(1) + "%" }),
          el("td", { class: "num", text: num(s.total_cost_cents) }))))));
    } catch (err) { showError(out, err); }
  }
  await load();
}

// ---- charts ---------------------------------------------------------------

const H = 220, PAD = { l: 72, r: 12, t: 10, b: 24 };

function frame(title, maxY, ticks, W) {
  const s = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  const x0 = PAD.l, y0 = H - PAD.b;
  s.append(svg("line", { class: "axis", x1: x0, y1: y0, x2: W - PAD.r, y2: y0 }),
    svg("line", { class: "axis", x1: x0, y1: PAD.t, x2: x0, y2: y0 }));
  for (const f of [0, 0.5, 1]) {
    const y = y0 - f * (y0 - PAD.t);
    s.append(svg("text", { x: x0 - 6, y: y + 4, "text-anchor": "end" }, document.createTextNode(nf.format(Math.round(maxY * f)))));
  }
  const last = Math.max(ticks - 1, 0);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const t = Math.round(last * f);
    s.append(svg("text", { x: x0 + f * (W - PAD.l - PAD.r), y: H - 6, "text-anchor": f === 0 ? "start" : f === 1 ? "end" : "middle" },
      document.createTextNode("tick " + nf.format(t))));
  }
  return s;
}

function xOf(i, n, W) { return PAD.l + (i / Math.max(n, 1)) * (W - PAD.l - PAD.r); }
function yOf(v, max) { return H - PAD.b - (max ? v / max : 0) * (H - PAD.b - PAD.t); }

function typesChart(tl) {
  const n = tl.arrivals.length;
  const totals = new Array(n).fill(0);
  for (const t of tl.types) tl.by_type[t.event_type].forEach((c, i) => { totals[i] += c; });
  const max = Math.max(1, ...totals);
  const title = `${nf.format(tl.total_events)} events by type, per ${tl.bucket > 1 ? tl.bucket + " ticks" : "tick"}`;
  const W = 1000;
  const s = frame(title, max, tl.ticks, W);
  const bw = (W - PAD.l - PAD.r) / Math.max(n, 1);
  const base = new Array(n).fill(0);
  tl.types.forEach((t, ti) => {
    const g = svg("g", { fill: colorOf(ti, tl.types.length), "data-type": t.event_type });
    tl.by_type[t.event_type].forEach((c, i) => {
      if (!c) return;
      const y1 = yOf(base[i], max), y2 = yOf(base[i] + c, max);
      base[i] += c;
      g.append(svg("rect", { x: xOf(i, n, W), y: y2, width: Math.max(bw - 0.5, 0.5), height: Math.max(y1 - y2, 0.5) },
        svg("title", {}, document.createTextNode(`tick ${i * tl.bucket}: ${c} ${t.event_type}`))));
    });
    s.append(g);
  });
  const legend = el("ul", { class: "legend", id: "type-legend" }, tl.types.map((t, ti) =>
    el("li", { "data-type": t.event_type }, swatch(colorOf(ti, tl.types.length)),
      el("span", { text: t.event_type }), el("span", { class: "n", text: num(t.count) }))));
  return el("figure", { class: "card wide", id: "chart-types" },
    el("figcaption", { id: "chart-types-caption", text: title }), s, legend);
}

function linesChart(id, title, ticks, series) {
  const n = series[0].values.length;
  const cum = series.map((s) => { let a = 0; return s.values.map((v) => (a += v)); });
  const max = Math.max(1, ...cum.map((c) => c[c.length - 1] || 0));
  const W = 600;
  const s = frame(title, max, ticks, W);
  series.forEach((ser, si) => {
    const pts = cum[si].map((v, i) => `${xOf(i + 1, n, W).toFixed(1)},${yOf(v, max).toFixed(1)}`);
    pts.unshift(`${xOf(0, n, W)},${yOf(0, max)}`);
    s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: ser.color, "stroke-width": 2 }));
  });
  const legend = el("ul", { class: "legend" }, series.map((ser, si) =>
    el("li", {}, swatch(ser.color), el("span", { text: ser.name }), el("span", { class: "n", text: num(cum[si][n - 1] || 0) }))));
  return el("figure", { class: "card", id }, el("figcaption", { text: title }), s, legend);
}

// ---- a run ----------------------------------------------------------------

async function runPage(main, id) {
  crumbs(el("a", { href: "#/", text: "Runs" }), el("span", { text: id }));
  document.title = "simdb: " + id;
  main.replaceChildren(el("h1", { text: id }), el("p", { class: "muted", text: "Loading…" }));
  let sim, sum;
  try {
    [sim, sum] = await Promise.all([api(simPath(id)), api(simPath(id) + "/events/summary")]);
  } catch (err) { showError(main, err); return; }
  const facts = [
    ["Status", sim.status], ["Events", num(sim.event_count)], ["Ticks", num(sim.total_ticks)],
    ["Days × ticks/day", `${sim.num_days} × ${sim.ticks_per_day}`], ["Agents", num(sim.num_agents)],
    ["Arrivals", num(sim.total_arrivals)], ["Settlements", num(sim.total_settlements)],
    ["Settlement rate", (sim.settlement_rate * 100).toFixed(1) + "%"], ["Total cost (cents)", num(sim.total_cost_cents)],
    ["Started", new Date(sim.started_at).toLocaleString()], ["Seed", sim.rng_seed ?? "–"],
    ["Experiment", sim.experiment_run_id ? `${sim.experiment_run_id} #${sim.experiment_iteration}` : "–"],
  ];
  const charts = el("div", { class: "charts", id: "charts" }, el("p", { class: "muted", text: "Drawing the timeline…" }));
  const events = el("section", { class: "card", id: "events-card", "aria-labelledby": "events-h" });
  main.replaceChildren(
    el("h1", { text: id }),
    el("section", { class: "card", "aria-label": "Summary" },
      el("dl", { class: "facts" }, facts.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: String(v) })))),
      el("div", { class: "downloads" }, el("span", { class: "muted", text: "Download:" }),
        ["jsonl", "csv", "parquet"].map((f) => el("a", { href: downloadURL(id, f), download: true, text: f.toUpperCase() })))),
    charts, events);
  eventTable(events, id, sum);
  try {
    const tl = await api(simPath(id) + "/timeline");
    charts.replaceChildren(typesChart(tl),
      linesChart("chart-flow", "Arrivals vs settlements, cumulative", tl.ticks, [
        { name: "Arrival events", color: "var(--arrivals)", values: tl.arrivals },
        { name: "Settled transactions", color: "var(--settlements)", values: tl.settlements }]),
      linesChart("chart-cost", "Cost accrued, cumulative (cents)", tl.ticks, [
        { name: "Cost", color: "var(--cost)", values: tl.cost_cents }]));
    say(`Timeline of ${nf.format(tl.total_events)} events drawn`);
  } catch (err) { showError(charts, err); }
}

// eventTable is the filterable, paged event table; pages go forward by the
// server's cursor and back by the cursors already seen.
function eventTable(card, id, sum) {
  const f = {
    agent: el("select", { id: "f-agent", name: "agent_id" }, el("option", { value: "", text: "any" }),
      (sum.agents || []).map((a) => el("option", { value: a, text: a }))),
    tx: el("input", { id: "f-tx", name: "tx_id", type: "search", placeholder: "transaction id", size: 24 }),
    type: el("select", { id: "f-type", name: "event_type" }, el("option", { value: "", text: "any" }),
      (sum.by_type || []).map((t) => el("option", { value: t.event_type, text: `${t.event_type} (${nf.format(t.count)})` }))),
    tmin: el("input", { id: "f-tmin", name: "tick_min", type: "number", min: 0, inputmode: "numeric" }),
    tmax: el("input", { id: "f-tmax", name: "tick_max", type: "number", min: 0, inputmode: "numeric" }),
    size: el("select", { id: "f-size", name: "limit" }, PAGE_SIZES.map((n) => el("option", { value: n, text: n, selected: n === 50 }))),
  };
  const field = (input, label) => el("div", {}, el("label", { for: input.id, text: label }), input);
  const info = el("span", { id: "page-info", class: "muted" });
  const prev = el("button", { type: "button", id: "prev", text: "← Previous", disabled: true });
  const next = el("button", { type: "button", id: "next", text: "Next →", disabled: true });
  const wrap = el("div", { class: "table-wrap" });
  const life = el("section", { id: "tx-life", class: "card", hidden: true, tabindex: "-1", "aria-labelledby": "tx-life-h" });
  const form = el("form", { class: "filters", id: "event-filters", onsubmit: (ev) => { ev.preventDefault(); start(); } },
    field(f.agent, "Agent"), field(f.tx, "Transaction"), field(f.type, "Event type"),
    field(f.tmin, "From tick"), field(f.tmax, "To tick"), field(f.size, "Rows"),
    el("button", { type: "submit", class: "primary", id: "apply", text: "Apply" }),
    el("button", { type: "reset", id: "reset", onclick: () => setTimeout(start) , text: "Reset" }));
  card.replaceChildren(el("h2", { id: "events-h", text: "Events" }), form, wrap,
    el("div", { class: "pager" }, prev, next, info), life);

  let cursors = [""]; // cursor of each page seen so far ("" = the first)
  let at = 0;
  function params(after) {
    return { agent_id: f.agent.value, tx_id: f.tx.value.trim(), event_type: f.type.value,
      tick_min: f.tmin.value, tick_max: f.tmax.value, limit: f.size.value, after };
  }
  function start() { cursors = [""]; at = 0; load(); }
  prev.addEventListener("click", () => { if (at > 0) { at--; load(); } });
  next.addEventListener("click", () => { if (cursors[at + 1]) { at++; load(); } });
  async function load() {
    wrap.setAttribute("aria-busy", "true");
    try {
      const p = await api(simPath(id) + "/events", params(cursors[at]));
      cursors[at + 1] = p.next_cursor;
      const first = at * p.limit;
      info.textContent = p.total ? `${nf.format(first + 1)}–${nf.format(first + p.events.length)} of ${nf.format(p.total)}` : "No events match";
      prev.disabled = at === 0;
      next.disabled = !p.next_cursor;
      wrap.replaceChildren(rows(p.events, "events"));
      say(info.textContent);
    } catch (err) { showError(wrap, err); }
    wrap.removeAttribute("aria-busy");
  }
  function rows(evs, tableId) {
    const head = ["Tick", "Seq", "Type", "Agent", "Transaction", "Sender → receiver", "Amount", "Details"];
    return el("table", { id: tableId },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i < 2 || i === 6 ? "num" : null, text: h })))),
      el("tbody", {}, evs.map((e) => el("tr", {},
        el("td", { class: "num", text: e.tick }), el("td", { class: "num", text: e.seq }),
        el("td", { text: e.event_type }),
        el("td", { text: e.agent_id || (e.agents || []).join(", ") }),
        el("td", {}, (e.tx_ids || []).map((tx) => el("div", {}, el("button", {
          type: "button", class: "link", title: "Show the whole life of " + tx, text: tx, onclick: () => showLife(tx) })))),
        el("td", { text: e.sender || e.receiver ? `${e.sender || "?"} → ${e.receiver || "?"}` : "" }),
        el("td", { class: "num", text: e.amount === undefined ? "" : num(e.amount) }),
        el("td", { class: "details", text: JSON.stringify(e.details) })))));
  }
  async function showLife(tx) {
    life.hidden = false;
    life.replaceChildren(el("h2", { id: "tx-life-h", text: "Life of transaction " + tx }), el("p", { class: "muted", text: "Loading…" }));
    try {
      const p = await api(simPath(id) + "/events", { tx_id: tx, limit: 1000 });
      life.replaceChildren(el("h2", { id: "tx-life-h", text: "Life of transaction " + tx }),
        el("p", { class: "muted", text: `${p.total} events name it` + (p.total > p.events.length ? ` (first ${p.events.length} shown)` : "") }),
        el("div", { class: "table-wrap" }, rows(p.events, "tx-events")),
        el("button", { type: "button", text: "Close", onclick: () => { life.hidden = true; } }));
      life.focus();
      say(`Transaction ${tx}: ${p.total} events`);
    } catch (err) { showError(life, err); }
  }
  start();
}

// ---- routing --------------------------------------------------------------

function route() {
  const main = document.getElementById("main");
  const m = location.hash.match(/^#\/run\/(.+)$/);
  if (m) runPage(main, decodeURIComponent(m[1]));
  else listPage(main);
}

document.addEventListener("DOMContentLoaded", () => {
  const tf = document.getElementById("token-form");
  tf.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("simdb-token", document.getElementById("token").value);
    tf.hidden = true;
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});
