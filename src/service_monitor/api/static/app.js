// service-monitor dashboard: plain JavaScript, no build step, no request to another origin.
// Everything shown comes from this API's JSON endpoints; every string from the API is written
// with textContent (never as HTML). The page sets data-ready on <html> once its first data is
// rendered (the browser tests and bench/bench_dashboard.py wait for it; data-ready-ms says when),
// and data-refreshes counts the refreshes that followed a new cycle.
"use strict";
(() => {
  const KEY = "service-monitor.key"; // sessionStorage: the API key, this tab only
  const POLL_MS = Number(localStorage.getItem("service-monitor.poll-ms")) || 15000;
  const PAGE_SIZE = 25;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const root = document.documentElement;

  const state = {
    span: "hour", // top lists: hour | week | month
    offset: 0, // monitors table
    q: "",
    total: 0,
    cycle: undefined, // finished_at of the newest cycle seen (undefined: not asked yet)
    monitorId: null, // the monitor page's, when it is shown
    historySpan: "day",
    refreshes: 0,
  };
  const seq = { top: 0, table: 0, detail: 0 }; // answers to an older request are dropped

  // -- talking to the API ------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, { detail: `the API did not answer (${error.message})` });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { detail: text.slice(0, 300) };
    }
    if (!response.ok) {
      const detail = data && typeof data === "object" ? data : { detail: String(data) };
      throw new ApiError(response.status, detail);
    }
    return data;
  }

  // A read that failed: 401/403 ask for the key in the banner; anything else is shown in place.
  function readFailed(error, where) {
    if (error.status === 401 || error.status === 403) {
      showBanner(
        error.status === 401
          ? "This API needs a key to read: enter it with the “API key” button."
          : "The API key is not valid: enter another with the “API key” button."
      );
    }
    if (where) {
      where.replaceChildren(el("span", "message error", `Could not load: ${error.message}`));
    }
  }

  // -- small helpers -----------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, className) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (className) node.setAttribute("class", className);
    return node;
  }

  const numberFormat = new Intl.NumberFormat();
  const fmt = (n) => (n === null || n === undefined ? "–" : numberFormat.format(n));

  function percent(ratio) {
    if (ratio === null || ratio === undefined) return "–";
    if (ratio >= 1) return "100%";
    // Rounded down, so that 100% means no failure at all: 99.96% is shown as 99.9%.
    return `${(Math.floor(ratio * 1000) / 10).toFixed(1)}%`;
  }

  // Formatters are built once: building one per call costs more than the whole table.
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const dayTimeFormat = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  const when = (iso, withDate = true) => (withDate ? dayTimeFormat : timeFormat).format(new Date(iso));
  const full = (iso) => fullFormat.format(new Date(iso));

  function ago(iso) {
    const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 60) return "just now";
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return `${Math.floor(seconds / 86400)} d ago`;
  }

  const bucketClass = (b) =>
    b.success + b.fail === 0 ? "none" : b.fail === 0 ? "ok" : b.success === 0 ? "bad" : "mixed";

  function bucketTitle(b, seconds) {
    const start = new Date(b.start);
    const end = new Date(start.getTime() + seconds * 1000);
    const span = seconds >= 86400 ? when(b.start) : `${when(b.start)}–${when(end, false)}`;
    const latency = b.latency_ms === null || b.latency_ms === undefined ? "" : `, ${Math.round(b.latency_ms)} ms`;
    return `${span}: ${fmt(b.success)} ok, ${fmt(b.fail)} failed${latency}`;
  }

  function showBanner(text) {
    const banner = $("banner");
    banner.textContent = text;
    banner.hidden = !text;
  }

  function setMessage(node, kind, parts) {
    node.className = `message ${kind}`;
    node.replaceChildren(...parts.map((p) => (typeof p === "string" ? document.createTextNode(p) : p)));
  }

  function link(href, text) {
    const a = el("a", "", text);
    a.href = href;
    return a;
  }

  function pressed(group, value, attribute) {
    for (const button of group.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset[attribute] === value));
    }
  }

  // -- summary and top lists ---------------------------------------------------------------

  async function loadSummary() {
    try {
      const items = await api("GET", "/urls/summary");
      const count = (status) => (items.find((i) => i.status === status) || { count: 0 }).count;
      const success = count("success");
      const fail = count("fail");
      const total = success + fail;
      $("sum-success").textContent = fmt(success);
      $("sum-fail").textContent = fmt(fail);
      $("sum-ratio").textContent = total ? percent(success / total) : "–";
      const bar = $("sum-bar");
      bar.classList.toggle("empty", total === 0);
      bar.firstElementChild.style.width = total ? `${(100 * success) / total}%` : "0";
      bar.title = total ? `${percent(success / total)} of ${fmt(total)} checks succeeded` : "no checks yet";
    } catch (error) {
      readFailed(error, null);
      $("sum-ratio").textContent = "–";
      $("sum-bar").title = `could not load: ${error.message}`;
    }
  }

  function renderTop(list, items, status) {
    if (!items.length) {
      list.replaceChildren(el("li", "empty", status === "fail" ? "No failed check in this span." : "No successful check in this span."));
      return;
    }
    list.replaceChildren(
      ...items.map((item) => {
        const li = el("li");
        const line = el("div");
        const url = el("span", "url", item.url);
        url.title = item.url;
        line.append(el("span", "name", item.name), url);
        line.append(el("span", `count ${status === "fail" ? "bad" : "ok"}`, fmt(item.count)));
        li.append(line);
        return li;
      })
    );
  }

  async function loadTop() {
    const mine = ++seq.top;
    const span = state.span;
    const lists = { fail: $("top-fail"), success: $("top-success") };
    await Promise.all(
      Object.entries(lists).map(async ([status, list]) => {
        try {
          const items = await api("GET", `/urls/top/${status}/${span}`);
          if (mine === seq.top) renderTop(list, items, status);
        } catch (error) {
          if (mine === seq.top) readFailed(error, list);
        }
      })
    );
    if (mine === seq.top) $("top").dataset.span = span;
  }

  // -- monitors table ----------------------------------------------------------------------

  function stripSvg(buckets, seconds, width = 6, height = 18) {
    const gap = 1;
    const node = svg("svg", {
      viewBox: `0 0 ${buckets.length * (width + gap)} ${height}`,
      width: buckets.length * (width + gap),
      height,
      role: "img",
    }, "strip");
    const fails = buckets.reduce((n, b) => n + b.fail, 0);
    const checks = buckets.reduce((n, b) => n + b.success + b.fail, 0);
    node.setAttribute("aria-label", `${fmt(checks)} checks, ${fmt(fails)} failed`);
    buckets.forEach((b, i) => {
      const rect = svg("rect", { x: i * (width + gap), y: 0, width, height, rx: 1 }, bucketClass(b));
      const title = svg("title");
      title.textContent = bucketTitle(b, seconds);
      rect.append(title);
      node.append(rect);
    });
    return node;
  }

  function lastCheckCell(item) {
    const td = el("td", "last");
    const check = item.last_check;
    if (!check) {
      td.append(el("span", "badge pending", item.state === "pending" ? "pending" : "no check"));
      return td;
    }
    td.append(el("span", `badge ${check.status}`, check.status === "success" ? "up" : "down"), " ");
    const facts = [];
    if (check.http_status !== null && check.http_status !== undefined) facts.push(String(check.http_status));
    if (check.cause) facts.push(check.cause.replaceAll("_", " "));
    facts.push(`${fmt(check.latency_ms)} ms`);
    const small = el("span", "small", `${facts.join(" · ")} · ${ago(check.checked_at)}`);
    small.title = full(check.checked_at);
    td.append(small);
    return td;
  }

  // A destructive button: the first click arms it (its text asks to confirm, for 5 s), the
  // second runs `action`, which is handed `disarm` to put the button back.
  function armOnFirstClick(button, confirmText, action) {
    let timer = null;
    const disarm = () => {
      button.classList.remove("armed");
      button.textContent = "Delete";
    };
    button.addEventListener("click", async () => {
      if (!button.classList.contains("armed")) {
        button.classList.add("armed");
        button.textContent = confirmText;
        timer = setTimeout(disarm, 5000);
        return;
      }
      clearTimeout(timer);
      await action(disarm);
    });
  }

  function deleteButton(id, name, done) {
    const button = el("button", "danger", "Delete");
    button.type = "button";
    button.setAttribute("aria-label", `Delete ${name}`);
    armOnFirstClick(button, "Confirm", async (disarm) => {
      button.disabled = true;
      try {
        await api("DELETE", `/urls/${id}`);
        done(null);
      } catch (error) {
        button.disabled = false;
        disarm();
        done(error);
      }
    });
    return button;
  }

  function renderRow(item) {
    const tr = el("tr");
    tr.dataset.id = item.id;
    const name = el("td", "name");
    name.append(link(`#/monitors/${item.id}`, item.name));
    tr.append(name, el("td", "url-col", item.url), lastCheckCell(item));
    const uptime = item.uptime || {};
    tr.append(el("td", "num", percent(uptime.day)), el("td", "num month-col", percent(uptime.month)));
    const strip = el("td", "strip-cell");
    if (item.strip && item.strip.length) strip.append(stripSvg(item.strip, 3600));
    tr.append(strip);
    const actions = el("td", "actions-col");
    actions.append(
      deleteButton(item.id, item.name, (error) => {
        if (error) {
          setMessage($("add-message"), "error", [`Could not delete “${item.name}”: ${error.message}`]);
        }
        loadTable();
      })
    );
    tr.append(actions);
    return tr;
  }

  async function loadTable() {
    const mine = ++seq.table;
    const body = $("monitor-table").tBodies[0];
    const params = new URLSearchParams({ limit: PAGE_SIZE, offset: state.offset });
    if (state.q) params.set("q", state.q);
    try {
      const page = await api("GET", `/urls/overview?${params}`);
      if (mine !== seq.table) return;
      if (page.items.length === 0 && page.total > 0 && state.offset > 0) {
        // The page emptied (deletions): show the last one that has monitors.
        state.offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
        return loadTable();
      }
      state.total = page.total;
      if (!page.items.length) {
        const td = el("td", "empty", state.q ? `No monitor matches “${state.q}”.` : "No monitor yet: add a URL above.");
        td.colSpan = 7;
        const tr = el("tr");
        tr.append(td);
        body.replaceChildren(tr);
      } else {
        body.replaceChildren(...page.items.map(renderRow));
      }
      const first = page.total ? state.offset + 1 : 0;
      const last = state.offset + page.items.length;
      $("page-info").textContent = `${fmt(first)}–${fmt(last)} of ${fmt(page.total)}`;
      $("page-prev").disabled = state.offset === 0;
      $("page-next").disabled = last >= page.total;
    } catch (error) {
      if (mine !== seq.table) return;
      const td = el("td", "empty");
      td.colSpan = 7;
      readFailed(error, td);
      const tr = el("tr");
      tr.append(td);
      body.replaceChildren(tr);
      $("page-info").textContent = "";
    }
  }

  // -- adding a URL ------------------------------------------------------------------------

  async function addUrl(event) {
    event.preventDefault();
    const form = $("add-form");
    const message = $("add-message");
    const fields = { name: $("add-name"), url: $("add-url") };
    for (const input of Object.values(fields)) input.removeAttribute("aria-invalid");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const monitor = await api("POST", "/urls/", { name: fields.name.value, url: fields.url.value });
      setMessage(message, "ok", [
        "Added ",
        link(`#/monitors/${monitor.id}`, monitor.name),
        ` (id ${monitor.id}): probed from the next cycle on.`,
      ]);
      form.reset();
      loadTable();
    } catch (error) {
      const parts = [error.message];
      if (error.status === 409 && error.body.id) {
        parts.push(" ", link(`#/monitors/${error.body.id}`, `See monitor ${error.body.id}.`));
      } else if (error.status === 401 || error.status === 403) {
        parts.push(" Enter a key with the “API key” button.");
        openKeyForm();
      }
      for (const item of error.body.errors || []) {
        const field = Array.isArray(item.loc) ? item.loc[item.loc.length - 1] : null;
        if (fields[field]) fields[field].setAttribute("aria-invalid", "true");
      }
      setMessage(message, "error", parts);
    } finally {
      button.disabled = false;
    }
  }

  // -- a monitor's page --------------------------------------------------------------------

  // Drawn at the width of its box, so that its text is not scaled with it.
  const chartWidth = () => Math.max(280, Math.round($("latency-chart").clientWidth || 720));

  function latencyChart(buckets, seconds) {
    const W = chartWidth();
    const H = 170;
    const pad = { left: 46, right: 8, top: 8, bottom: 22 };
    const node = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    const values = buckets.map((b) => b.latency_ms).filter((v) => v !== null && v !== undefined);
    node.setAttribute(
      "aria-label",
      values.length ? `mean latency from ${Math.round(Math.min(...values))} to ${Math.round(Math.max(...values))} ms` : "no successful check"
    );
    const top = niceCeiling(values.length ? Math.max(...values) : 100);
    const x = (i) => pad.left + ((W - pad.left - pad.right) * (i + 0.5)) / buckets.length;
    const y = (v) => pad.top + (H - pad.top - pad.bottom) * (1 - v / top);
    for (const v of [0, top / 2, top]) {
      node.append(svg("line", { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v) }, "axis"));
      const label = svg("text", { x: pad.left - 6, y: y(v) + 4, "text-anchor": "end" });
      label.textContent = `${fmt(Math.round(v))} ms`;
      node.append(label);
    }
    let d = "";
    let open = false;
    buckets.forEach((b, i) => {
      if (b.latency_ms === null || b.latency_ms === undefined) {
        open = false;
        return;
      }
      d += `${open ? "L" : "M"}${x(i).toFixed(1)},${y(b.latency_ms).toFixed(1)}`;
      open = true;
      const dot = svg("circle", { cx: x(i).toFixed(1), cy: y(b.latency_ms).toFixed(1), r: buckets.length > 60 ? 1.5 : 2.5 }, "dot");
      const title = svg("title");
      title.textContent = bucketTitle(b, seconds);
      dot.append(title);
      node.append(dot);
    });
    if (d) node.append(svg("path", { d }, "line"));
    if (!values.length) {
      const empty = svg("text", { x: (pad.left + W) / 2, y: H / 2, "text-anchor": "middle" });
      empty.textContent = "no successful check in this span";
      node.append(empty);
    }
    for (const i of [0, Math.floor(buckets.length / 2), buckets.length - 1]) {
      if (!buckets[i]) continue;
      const label = svg("text", { x: x(i), y: H - 6, "text-anchor": i === 0 ? "start" : i === buckets.length - 1 ? "end" : "middle" });
      label.textContent = when(buckets[i].start, seconds >= 86400 || buckets.length > 24);
      node.append(label);
    }
    return node;
  }

  function niceCeiling(value) {
    if (value <= 0) return 100;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function statusStrip(buckets, seconds) {
    const W = chartWidth();
    const H = 26;
    const width = W / buckets.length;
    const node = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, "strip");
    const fails = buckets.reduce((n, b) => n + b.fail, 0);
    const checks = buckets.reduce((n, b) => n + b.success + b.fail, 0);
    node.setAttribute("aria-label", `${fmt(checks)} checks, ${fmt(fails)} failed`);
    buckets.forEach((b, i) => {
      const rect = svg("rect", { x: (i * width).toFixed(2), y: 0, width: Math.max(width - 1, 0.5).toFixed(2), height: H }, bucketClass(b));
      const title = svg("title");
      title.textContent = bucketTitle(b, seconds);
      rect.append(title);
      node.append(rect);
    });
    return node;
  }

  function checkRow(check, columns) {
    const tr = el("tr");
    const cells = {
      when: el("td", "", full(check.checked_at)),
      status: el("td"),
      http: el("td", "num", check.http_status ?? "–"),
      latency: el("td", "num", `${fmt(check.latency_ms)} ms`),
      cause: el("td", "", check.cause ? check.cause.replaceAll("_", " ") : ""),
    };
    cells.status.append(el("span", `badge ${check.status}`, check.status === "success" ? "up" : "down"));
    for (const column of columns) tr.append(cells[column]);
    return tr;
  }

  function emptyRow(text, span) {
    const tr = el("tr");
    const td = el("td", "empty", text);
    td.colSpan = span;
    tr.append(td);
    return tr;
  }

  async function loadDetail() {
    const mine = ++seq.detail;
    const id = state.monitorId;
    const span = state.historySpan;
    const [detail, history] = await Promise.allSettled([
      api("GET", `/urls/${id}`),
      api("GET", `/urls/${id}/history?span=${span}`),
    ]);
    if (mine !== seq.detail) return;
    const message = $("detail-message");
    message.replaceChildren();
    if (detail.status === "rejected") {
      const error = detail.reason;
      $("detail-name").textContent = error.status === 404 ? "No such monitor" : "Could not load this monitor";
      $("detail-url").textContent = error.message;
      $("detail-facts").textContent = "";
      $("detail-delete").hidden = true;
      for (const card of document.querySelectorAll("#detail .history")) card.hidden = true;
      readFailed(error, null);
      return;
    } else {
      const m = detail.value;
      $("detail-name").textContent = m.name;
      $("detail-url").textContent = m.url;
      $("detail-delete").hidden = false;
      for (const card of document.querySelectorAll("#detail .history")) card.hidden = false;
      const c = m.counts;
      const ratio = (s) => (s.success + s.fail ? percent(s.success / (s.success + s.fail)) : "–");
      $("detail-facts").textContent =
        `${m.state} · added ${full(m.created_at)} · ` +
        `past hour ${fmt(c.hour.success)} ok / ${fmt(c.hour.fail)} failed · ` +
        `7 days ${ratio(c.week)} · 30 days ${ratio(c.month)} up`;
      const recent = $("recent").tBodies[0];
      recent.replaceChildren(
        ...(m.checks.length
          ? m.checks.map((check) => checkRow(check, ["when", "status", "http", "latency", "cause"]))
          : [emptyRow("No check yet: the next cycle probes it.", 5)])
      );
    }
    const chart = $("latency-chart");
    const strip = $("status-strip");
    const failures = $("failures").tBodies[0];
    if (history.status === "rejected") {
      readFailed(history.reason, chart);
      strip.replaceChildren();
      failures.replaceChildren(emptyRow(`Could not load: ${history.reason.message}`, 4));
    } else {
      const h = history.value;
      chart.replaceChildren(latencyChart(h.buckets, h.bucket_seconds));
      strip.replaceChildren(statusStrip(h.buckets, h.bucket_seconds));
      failures.replaceChildren(
        ...(h.failures.length
          ? h.failures.map((check) => checkRow(check, ["when", "cause", "http", "latency"]))
          : [emptyRow("No failure in this span.", 4)])
      );
      $("detail").dataset.span = span;
    }
  }

  // -- API key -----------------------------------------------------------------------------

  function openKeyForm() {
    $("key-form").hidden = false;
    $("key-toggle").setAttribute("aria-expanded", "true");
  }

  function setupKey() {
    const form = $("key-form");
    const toggle = $("key-toggle");
    const input = $("key-input");
    const label = () => {
      toggle.textContent = sessionStorage.getItem(KEY) ? "API key ✓" : "API key";
    };
    label();
    toggle.addEventListener("click", () => {
      form.hidden = !form.hidden;
      toggle.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) input.focus();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (key) sessionStorage.setItem(KEY, key);
      input.value = "";
      form.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
      label();
      showBanner("");
      refresh();
      pollCycle();
    });
    $("key-forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      input.value = "";
      label();
      refresh();
      pollCycle();
    });
  }

  // -- cycles, refreshes and routing -------------------------------------------------------

  async function pollCycle() {
    let cycle = null;
    try {
      [cycle = null] = await api("GET", "/cycles?limit=1");
    } catch (error) {
      $("cycle").textContent = `Cycles: ${error.message}`;
      return;
    }
    const line = $("cycle");
    if (!cycle) {
      line.textContent = "No cycle has finished yet.";
    } else {
      line.textContent =
        `Last cycle ${ago(cycle.finished_at)} (${cycle.outcome}): ${fmt(cycle.probed)} probed, ` +
        `${fmt(cycle.success)} ok, ${fmt(cycle.fail)} failed`;
      line.title = `finished ${full(cycle.finished_at)}`;
    }
    const finished = cycle ? cycle.finished_at : null;
    const first = state.cycle === undefined;
    if (!first && finished !== state.cycle) {
      state.cycle = finished;
      await refresh();
      state.refreshes += 1;
      root.dataset.refreshes = String(state.refreshes);
    }
    state.cycle = finished;
  }

  function loadHome() {
    return Promise.all([loadSummary(), loadTop(), loadTable()]);
  }

  function refresh() {
    return state.monitorId === null ? loadHome() : loadDetail();
  }

  async function route() {
    const match = /^#\/monitors\/(\d+)$/.exec(location.hash);
    const id = match ? Number(match[1]) : null;
    state.monitorId = id;
    $("home").hidden = id !== null;
    $("detail").hidden = id === null;
    if (id === null) {
      document.title = "service-monitor";
      await loadHome();
    } else {
      document.title = `monitor ${id} · service-monitor`;
      $("detail-name").textContent = "";
      $("detail-url").textContent = "";
      await loadDetail();
    }
  }

  function setup() {
    setupKey();
    $("add-form").addEventListener("submit", addUrl);
    $("span-switch").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-span]");
      if (!button || button.dataset.span === state.span) return;
      state.span = button.dataset.span;
      pressed($("span-switch"), state.span, "span");
      loadTop();
    });
    $("history-switch").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-span]");
      if (!button || button.dataset.span === state.historySpan) return;
      state.historySpan = button.dataset.span;
      pressed($("history-switch"), state.historySpan, "span");
      loadDetail();
    });
    let typing = null;
    $("search").addEventListener("input", (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        state.q = event.target.value.trim();
        state.offset = 0;
        loadTable();
      }, 250);
    });
    $("page-prev").addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      loadTable();
    });
    $("page-next").addEventListener("click", () => {
      if (state.offset + PAGE_SIZE < state.total) state.offset += PAGE_SIZE;
      loadTable();
    });
    setupDetailDelete();
    window.addEventListener("hashchange", route);
    Promise.all([route(), pollCycle()]).then(() => {
      // ms since navigation started: what bench/bench_dashboard.py reports as the first load
      root.dataset.readyMs = String(Math.round(performance.now()));
      root.dataset.ready = "true";
    });
    setInterval(pollCycle, POLL_MS);
  }

  // The monitor page's delete button acts on whichever monitor is shown.
  function setupDetailDelete() {
    const old = $("detail-delete");
    const button = el("button", "danger", "Delete");
    button.type = "button";
    button.id = "detail-delete";
    old.replaceWith(button);
    armOnFirstClick(button, "Confirm delete", async (disarm) => {
      disarm();
      try {
        await api("DELETE", `/urls/${state.monitorId}`);
        location.hash = "#/";
      } catch (error) {
        setMessage($("detail-message"), "error", [`Could not delete: ${error.message}`]);
      }
    });
  }

  setup();
})();
