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
    view: "home", // home | detail | incidents | incident | channels | maintenance
    monitorId: null, // the monitor page's, when it is shown
    monitorIncidentsOffset: 0, // its incident history's page
    incidentId: null, // the incident page's
    incidents: { state: "open", offset: 0, total: 0 }, // the incidents view
    channels: [], // the channels as last listed (the monitor page's edit form ticks them)
    channelTests: {}, // channel id -> the outcome of its last test send, shown in its row
    editingChannel: null, // the channel the channel form edits (null: it adds one)
    monitor: null, // its data as last loaded (what the edit form starts from)
    historySpan: "day",
    region: "", // the monitor page's region filter ("": every region)
    fleet: null, // GET /regions: the regions a monitor may name and the default interval
    refreshes: 0,
  };
  const seq = { top: 0, table: 0, detail: 0, open: 0, fleet: 0, incidents: 0, incident: 0, channels: 0, windows: 0, monitorIncidents: 0 }; // answers to an older request are dropped
  const editors = {}; // the check editors of the add form and of the monitor page's edit form
  const schedules = {}; // the schedule editors (interval, regions) of the same two forms

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

  // A check's badge: up, up but degraded (slower than the monitor's degraded_after_ms), or down.
  function checkBadge(check) {
    if (check.status !== "success") return el("span", `badge ${check.status}`, "down");
    if (check.degraded) {
      const badge = el("span", "badge degraded", "degraded");
      badge.title = "passed every assertion, slower than the monitor's degraded limit";
      return badge;
    }
    return el("span", "badge success", "up");
  }

  // Days left on the TLS certificate, as the API gives them; null for http or before a check.
  const tlsDaysLeft = (item) => item.tls_days_left ?? null;

  function tlsText(days) {
    if (days === null || days === undefined) return "–";
    if (days < 0) return "expired";
    return `${fmt(days)} d`;
  }

  // Red once expired or within a week, amber within 30 days.
  const tlsClass = (days) => (days === null || days === undefined ? "" : days <= 7 ? "bad" : days <= 30 ? "warn" : "");

  const bucketClass = (b) =>
    b.success + b.fail === 0 ? "none" : b.fail === 0 ? "ok" : b.success === 0 ? "bad" : "mixed";

  function bucketTitle(b, seconds) {
    const start = new Date(b.start);
    const end = new Date(start.getTime() + seconds * 1000);
    const span = seconds >= 86400 ? when(b.start) : `${when(b.start)}–${when(end, false)}`;
    const latency = b.latency_ms === null || b.latency_ms === undefined ? "" : `, ${Math.round(b.latency_ms)} ms`;
    return `${span}: ${fmt(b.success)} ok, ${fmt(b.fail)} failed${latency}`;
  }

  // The "1–25 of 40" line and the previous/next buttons of a paginated table (ids prefix-info,
  // prefix-prev, prefix-next): the monitors table's, the incidents' and a monitor's incidents'.
  function setPager(prefix, page, shown) {
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + shown;
    $(`${prefix}-info`).textContent = `${fmt(first)}–${fmt(last)} of ${fmt(page.total)}`;
    $(`${prefix}-prev`).disabled = page.offset === 0;
    $(`${prefix}-next`).disabled = last >= page.total;
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
    td.append(checkBadge(check), " ");
    const facts = [];
    if (check.http_status !== null && check.http_status !== undefined) facts.push(String(check.http_status));
    if (check.cause) facts.push(check.cause.replaceAll("_", " "));
    facts.push(`${fmt(check.latency_ms)} ms`);
    const small = el("span", "small", `${facts.join(" · ")} · ${ago(check.checked_at)}`);
    small.title = full(check.checked_at);
    td.append(small);
    if (check.detail) {
      const detail = el("span", "detail", check.detail);
      detail.title = check.detail;
      td.append(detail);
    }
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
    const health = el("td", "health-col");
    if (item.health) health.append(healthBadge(item.health));
    tr.append(name, health, el("td", "url-col", item.url), intervalCell(item), lastCheckCell(item));
    const uptime = item.uptime || {};
    tr.append(el("td", "num", percent(uptime.day)), el("td", "num month-col", percent(uptime.month)));
    const days = tlsDaysLeft(item);
    const tls = el("td", `num tls-col ${tlsClass(days)}`.trim(), tlsText(days));
    if (days !== null) tls.title = `TLS certificate: ${days < 0 ? "expired" : `${fmt(days)} days left`}`;
    tr.append(tls);
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
      renderHealthCounts(page.health, page.incidents_open);
      if (!page.items.length) {
        const td = el("td", "empty", state.q ? `No monitor matches “${state.q}”.` : "No monitor yet: add a URL above.");
        td.colSpan = 10;
        const tr = el("tr");
        tr.append(td);
        body.replaceChildren(tr);
      } else {
        body.replaceChildren(...page.items.map(renderRow));
      }
      setPager("page", { total: page.total, offset: state.offset }, page.items.length);
    } catch (error) {
      if (mine !== seq.table) return;
      const td = el("td", "empty");
      td.colSpan = 10;
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
    clearFieldErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const editor = editors.add;
    // The default check sends name and url only: exactly what the seed's clients send.
    const body = { name: fields.name.value, url: fields.url.value };
    if (!editor.isDefault()) Object.assign(body, editor.read());
    const schedule = schedules.add.read();
    if (schedule.interval !== null) body.interval = schedule.interval;
    if (schedule.regions !== null) body.regions = schedule.regions;
    try {
      const monitor = await api("POST", "/urls/", body);
      setMessage(message, "ok", [
        "Added ",
        link(`#/monitors/${monitor.id}`, monitor.name),
        ` (id ${monitor.id}): probed from the next cycle on.`,
      ]);
      form.reset();
      editor.clear();
      schedules.add.fill(null);
      $("add-advanced").open = false;
      loadTable();
    } catch (error) {
      formFailed(message, form, error, (loc, why) => {
        if (fields[loc[0]] && loc.length === 1) return [fields[loc[0]], loc[0]];
        const found = schedules.add.locate(loc) || editor.locate(loc, why);
        if (found && !$("add-advanced").open) $("add-advanced").open = true;
        return found;
      });
    } finally {
      button.disabled = false;
    }
  }

  // -- a check's settings: the editor of the add and edit forms, and their reading -------------

  const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
  const ALWAYS_SECRET = ["authorization", "cookie", "proxy-authorization"]; // as check_spec.py
  const REDACTED = "<redacted>"; // what GET shows for a secret; sent back, it keeps the stored value
  const ASSERTION_TYPES = {
    status: "status code",
    body: "body text or regex",
    json: "JSON path",
    header: "response header",
    latency: "response time",
    tls: "TLS certificate days",
  };
  const OPS = {
    body: [["contains", "contains"], ["not_contains", "does not contain"], ["matches", "matches regex"], ["not_matches", "does not match regex"]],
    json: [["equals", "equals"], ["not_equals", "does not equal"], ["less_than", "is less than"], ["greater_than", "is greater than"], ["exists", "exists"], ["not_exists", "does not exist"]],
    header: [["equals", "equals"], ["contains", "contains"]],
  };
  // Each assertion type's inputs: [field in the API, visible label, kind, placeholder]
  const ASSERTION_FIELDS = {
    status: [["codes", "Codes, ranges or classes", "text", "200, 2xx, 301-308"]],
    body: [["op", "Condition", "op"], ["value", "Text or regex", "text", "healthy"]],
    json: [["path", "JSON path", "text", "$.status"], ["op", "Condition", "op"], ["value", "Value (JSON or text)", "text", "ok"]],
    header: [["name", "Header name", "text", "Content-Type"], ["op", "Condition", "op"], ["value", "Text", "text", "application/json"]],
    latency: [["below_ms", "Answered within (ms)", "number", "500"]],
    tls: [["min_days", "Certificate valid for at least (days)", "number", "14"]],
  };
  let editorIds = 0; // ids of the inputs of removable rows: unique, so labels stay tied to them

  function labelled(id, text, input, className) {
    const box = el("div", className || "field");
    const label = el("label", "", text);
    label.htmlFor = id;
    input.id = id;
    box.append(label, input);
    return box;
  }

  function input(type, placeholder) {
    const node = el("input");
    node.type = type;
    node.autocomplete = "off";
    node.spellcheck = false;
    if (placeholder) node.placeholder = placeholder;
    return node;
  }

  function select(options) {
    const node = el("select");
    for (const [value, text] of options) {
      const option = el("option", "", text);
      option.value = value;
      node.append(option);
    }
    return node;
  }

  function smallButton(text, label, className = "secondary") {
    const button = el("button", `${className} small-button`, text);
    button.type = "button";
    if (label) button.setAttribute("aria-label", label);
    return button;
  }

  // A JSON value typed as text: JSON when it parses ("ok" with quotes, 42, true, null), else the
  // text itself as a string, so that a plain word needs no quotes.
  function parseValue(text) {
    const trimmed = text.trim();
    if (trimmed === "") return "";
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }

  function showValue(value) {
    if (typeof value !== "string") return JSON.stringify(value);
    try {
      JSON.parse(value);
      return JSON.stringify(value); // it would read back as another type: quoted
    } catch {
      return value;
    }
  }

  function parseCodes(text) {
    return text.split(/[\s,]+/).filter(Boolean).map((code) => (/^\d+$/.test(code) ? Number(code) : code));
  }

  const numberOrNull = (node) => (node.value.trim() === "" ? null : Number(node.value));

  // The advanced part of a form: the request, the assertions and degraded_after_ms. `prefix`
  // makes its ids unique on the page. read() gives the API's fields, fill() shows a monitor's.
  function checkEditor(prefix, container) {
    const method = select(METHODS.map((m) => [m, m]));
    const timeout = input("number", "TIMEOUT");
    timeout.min = "0";
    timeout.step = "any";
    const follow = input("checkbox");
    follow.checked = true;
    const body = el("textarea");
    body.rows = 3;
    body.spellcheck = false;
    const contentType = input("text", "application/json");
    const degraded = input("number", "not flagged");
    degraded.min = "1";
    degraded.step = "1";

    const headerList = el("div", "rows");
    const addHeader = smallButton("Add header");
    const headers = el("fieldset", "group");
    headers.append(el("legend", "", "Headers"), headerList, addHeader);

    const assertionList = el("div", "rows");
    const newType = select(Object.entries(ASSERTION_TYPES));
    const addAssertion = smallButton("Add assertion");
    const assertions = el("fieldset", "group");
    const adder = el("div", "row");
    adder.append(labelled(`${prefix}-new-type`, "New assertion on", newType, "field inline"), addAssertion);
    assertions.append(
      el("legend", "", "Assertions (all must hold)"),
      el("p", "hint muted", "None: a final status below 400 is a success."),
      assertionList,
      adder
    );

    const pair = el("div", "pair");
    pair.append(labelled(`${prefix}-method`, "Method", method), labelled(`${prefix}-timeout`, "Timeout (s)", timeout));
    const followLabel = el("label", "check");
    followLabel.append(follow, " Follow redirects");
    follow.id = `${prefix}-follow`;
    const bodyPair = el("div", "pair");
    bodyPair.append(labelled(`${prefix}-content-type`, "Content type", contentType));
    container.replaceChildren(
      pair,
      followLabel,
      headers,
      labelled(`${prefix}-body`, "Request body", body),
      bodyPair,
      assertions,
      labelled(`${prefix}-degraded`, "Degraded after (ms): a slower passing answer is flagged", degraded)
    );

    function renumber() {
      [...headerList.children].forEach((row, i) => {
        row.querySelector(".h-name").setAttribute("aria-label", `Header ${i + 1} name`);
        row.querySelector(".h-value").setAttribute("aria-label", `Header ${i + 1} value`);
        row.querySelector(".h-secret").setAttribute("aria-label", `Header ${i + 1} is secret`);
        row.querySelector(".remove").setAttribute("aria-label", `Remove header ${i + 1}`);
      });
      [...assertionList.children].forEach((row, i) => {
        row.querySelector("legend").textContent = `Assertion ${i + 1}: ${ASSERTION_TYPES[row.dataset.type]}`;
        row.querySelector(".remove").setAttribute("aria-label", `Remove assertion ${i + 1}`);
      });
    }

    function headerRow(name = "", value = "", secret = false) {
      const row = el("div", "header-row");
      const nameInput = input("text", "X-Header");
      nameInput.className = "h-name";
      nameInput.value = name;
      const valueInput = input(secret ? "password" : "text", "value");
      valueInput.className = "h-value";
      if (value === REDACTED) {
        // The stored secret is not shown: left empty, the API keeps it; typed over, it is replaced.
        row.dataset.kept = "true";
        valueInput.placeholder = "unchanged (secret)";
      } else {
        valueInput.value = value;
      }
      const secretBox = input("checkbox");
      secretBox.className = "h-secret";
      const secretLabel = el("label", "check");
      secretLabel.append(secretBox, " secret");
      const sync = () => {
        const always = ALWAYS_SECRET.includes(nameInput.value.trim().toLowerCase());
        secretBox.disabled = always;
        if (always) secretBox.checked = true;
        secretLabel.title = always ? "always secret" : "returned as <redacted>, never logged";
        valueInput.type = secretBox.checked ? "password" : "text";
      };
      secretBox.checked = secret;
      nameInput.addEventListener("input", sync);
      secretBox.addEventListener("change", sync);
      sync();
      const remove = smallButton("×", "", "danger");
      remove.classList.add("remove");
      remove.addEventListener("click", () => {
        row.remove();
        renumber();
      });
      row.append(nameInput, valueInput, secretLabel, remove);
      headerList.append(row);
      renumber();
      return row;
    }

    function assertionRow(type, values = {}) {
      const row = el("fieldset", "assertion");
      row.dataset.type = type;
      row.append(el("legend"));
      const n = ++editorIds;
      const inputs = {};
      const fields = el("div", "fields");
      for (const [field, text, kind, placeholder] of ASSERTION_FIELDS[type]) {
        const node = kind === "op" ? select(OPS[type]) : input(kind, placeholder);
        if (kind === "number") {
          node.min = "0";
          node.step = "1";
        }
        node.dataset.field = field;
        if (type === "json" && field === "value") node.title = "JSON (\"ok\", 42, true, null), or plain text for a string";
        const value = values[field];
        if (field === "codes") node.value = (value || ["2xx"]).join(", ");
        else if (type === "json" && field === "value") {
          node.value = value === undefined || values.op === "exists" || values.op === "not_exists" ? "" : showValue(value);
        }
        else if (value !== undefined && value !== null) node.value = String(value);
        inputs[field] = node;
        fields.append(labelled(`${prefix}-a${n}-${field}`, text, node, `field ${field === "op" ? "op" : ""}`.trim()));
      }
      if (type === "json") {
        // exists / not_exists take no value
        const valueBox = inputs.value.parentElement;
        const sync = () => {
          valueBox.hidden = inputs.op.value === "exists" || inputs.op.value === "not_exists";
        };
        inputs.op.addEventListener("change", sync);
        sync();
      }
      const remove = smallButton("Remove", "", "danger");
      remove.classList.add("remove");
      remove.addEventListener("click", () => {
        row.remove();
        renumber();
      });
      fields.append(remove);
      row.append(fields);
      assertionList.append(row);
      renumber();
      return row;
    }

    addHeader.addEventListener("click", () => headerRow().querySelector(".h-name").focus());
    addAssertion.addEventListener("click", () => {
      const row = assertionRow(newType.value);
      row.querySelector("input, select").focus();
    });

    function readAssertion(row) {
      const type = row.dataset.type;
      const out = { type };
      for (const node of row.querySelectorAll("[data-field]")) {
        const field = node.dataset.field;
        if (field === "codes") out.codes = parseCodes(node.value);
        else if (node.type === "number") out[field] = numberOrNull(node);
        else if (type === "json" && field === "value") {
          if (out.op !== "exists" && out.op !== "not_exists") out.value = parseValue(node.value);
        } else out[field] = node.value;
      }
      return out;
    }

    return {
      // The API's fields: {request, assertions, degraded_after_ms}
      read() {
        const headersOut = {};
        const secret = [];
        for (const row of headerList.children) {
          const name = row.querySelector(".h-name").value.trim();
          if (!name) continue;
          const value = row.querySelector(".h-value").value;
          headersOut[name] = value === "" && row.dataset.kept ? REDACTED : value;
          const box = row.querySelector(".h-secret");
          if (box.checked && !box.disabled) secret.push(name);
        }
        return {
          request: {
            method: method.value,
            headers: headersOut,
            secret_headers: secret,
            body: body.value === "" ? null : body.value,
            content_type: contentType.value.trim() === "" ? null : contentType.value.trim(),
            timeout_s: numberOrNull(timeout),
            follow_redirects: follow.checked,
          },
          assertions: [...assertionList.children].map(readAssertion),
          degraded_after_ms: numberOrNull(degraded),
        };
      },
      // True when nothing differs from the default check (then the add form sends name and url only)
      isDefault() {
        const spec = this.read();
        const r = spec.request;
        return (
          r.method === "GET" && !Object.keys(r.headers).length && r.body === null && r.content_type === null &&
          r.timeout_s === null && r.follow_redirects && !spec.assertions.length && spec.degraded_after_ms === null
        );
      },
      fill(monitor) {
        const r = monitor.request || {};
        method.value = r.method || "GET";
        timeout.value = r.timeout_s ?? "";
        follow.checked = r.follow_redirects !== false;
        body.value = r.body ?? "";
        contentType.value = r.content_type ?? "";
        degraded.value = monitor.degraded_after_ms ?? "";
        headerList.replaceChildren();
        const secretNames = (r.secret_headers || []).map((n) => n.toLowerCase());
        for (const [name, value] of Object.entries(r.headers || {})) {
          headerRow(name, value, secretNames.includes(name.toLowerCase()) || ALWAYS_SECRET.includes(name.toLowerCase()));
        }
        assertionList.replaceChildren();
        for (const a of monitor.assertions || []) if (ASSERTION_FIELDS[a.type]) assertionRow(a.type, a);
      },
      clear() {
        this.fill({});
      },
      // The input an error's loc (after "body") points at, and a name for it a user reads.
      locate(loc, message = "") {
        const [top, second, third, fourth] = loc;
        const simple = {
          "request.method": [method, "Method"],
          "request.timeout_s": [timeout, "Timeout"],
          "request.follow_redirects": [follow, "Follow redirects"],
          "request.body": [body, "Request body"],
          "request.content_type": [contentType, "Content type"],
          "request.headers": [headers, "Headers"],
          "request.secret_headers": [headers, "Headers (secret)"],
          request: [method, "Request"],
          degraded_after_ms: [degraded, "Degraded after"],
          assertions: [assertions, "Assertions"],
        };
        if (top === "request" && (second === "headers" || second === "secret_headers")) {
          // Down to the header when the loc or the reason names it ("header name 'X Y' is ...").
          const named = third !== undefined ? String(third) : (/header(?: name)? '([^']+)'/.exec(message) || [])[1];
          const row = [...headerList.children].find(
            (r) => named !== undefined && r.querySelector(".h-name").value.trim().toLowerCase() === named.toLowerCase()
          );
          return row ? [row.querySelector(".h-name"), `Header ${named}`] : simple[`request.${second}`];
        }
        if (top === "assertions" && typeof second === "number") {
          const row = assertionList.children[second];
          if (!row) return simple.assertions;
          // A discriminated union's loc names the type before the field: [i, "json", "path"].
          let field = third === row.dataset.type ? fourth : third;
          if (field === undefined) field = rowField(row.dataset.type, message);
          const node = field !== undefined ? row.querySelector(`[data-field="${field}"]`) : null;
          const what = `Assertion ${second + 1} (${ASSERTION_TYPES[row.dataset.type]})`;
          if (node) return [node, `${what}, ${node.labels[0].textContent.split(" (")[0].toLowerCase()}`];
          return [row, what];
        }
        const key = second === undefined ? String(top) : `${top}.${second}`;
        return simple[key] || simple[top] || null;
      },
    };
  }

  // The input an error about a whole assertion is about: a regex that does not compile is its
  // value's fault, a JSON path that does not parse its path's.
  function rowField(type, message) {
    if (type === "body") return "value";
    if (type === "json") return /JSON path/.test(message) ? "path" : "value";
    return undefined;
  }

  // Mark the fields a 422 names and write each one's reason under it; gives the lines for the
  // form's message ("Field: why"), a line per error.
  function showFieldErrors(form, errors, locate) {
    clearFieldErrors(form);
    const lines = [];
    for (const item of errors || []) {
      const loc = Array.isArray(item.loc) ? item.loc.slice(item.loc[0] === "body" ? 1 : 0) : [];
      const found = loc.length ? locate(loc, String(item.msg)) : null;
      if (!found) {
        lines.push(loc.length ? `${loc.join(".")}: ${item.msg}` : item.msg);
        continue;
      }
      const [node, label] = found;
      lines.push(`${label}: ${item.msg}`);
      node.setAttribute("aria-invalid", "true");
      const note = el("p", "field-error", item.msg);
      note.id = `${node.id || form.id}-error-${lines.length}`;
      if (node.matches("input, select, textarea")) node.setAttribute("aria-describedby", note.id);
      // Inside the input's own box (a two-column row keeps its columns, a header row its
      // place among the rows), else after it.
      const box = node.matches("fieldset") ? node : node.closest(".field, .header-row");
      if (box) box.append(note);
      else node.after(note);
    }
    return lines;
  }

  function clearFieldErrors(form) {
    for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
    for (const node of form.querySelectorAll("[aria-describedby]")) node.removeAttribute("aria-describedby");
    for (const node of form.querySelectorAll(".field-error")) node.remove();
  }

  // A 4xx of a form: the API's reason, each field it names marked; 409 links the other monitor.
  function formFailed(message, form, error, locate) {
    const parts = [];
    const lines = error.status === 422 ? showFieldErrors(form, error.body.errors, locate) : [];
    if (lines.length > 1) {
      const list = el("ul");
      for (const line of lines) list.append(el("li", "", line));
      parts.push("The API refused it:", list);
    } else {
      parts.push(lines[0] || error.message);
    }
    if (error.status === 409 && error.body.id) {
      parts.push(" ", link(`#/monitors/${error.body.id}`, `See monitor ${error.body.id}.`));
    } else if (error.status === 401 || error.status === 403) {
      parts.push(" Enter a key with the “API key” button.");
      openKeyForm();
    }
    setMessage(message, "error", parts);
  }

  // -- what the monitor's page shows of a check's settings ----------------------------------------

  const quoted = (text) => `“${text}”`;

  function describeAssertion(a) {
    const op = (type, value) => (OPS[type].find(([v]) => v === value) || [value, value])[1];
    switch (a.type) {
      case "status":
        return `status is one of ${a.codes.join(", ")}`;
      case "body":
        return `body ${op("body", a.op)} ${quoted(a.value)}`;
      case "json":
        return a.op === "exists" || a.op === "not_exists"
          ? `${a.path} ${op("json", a.op)}`
          : `${a.path} ${op("json", a.op)} ${JSON.stringify(a.value)}`;
      case "header":
        return `header ${a.name} ${op("header", a.op)} ${quoted(a.value)}`;
      case "latency":
        return `answered within ${fmt(a.below_ms)} ms`;
      case "tls":
        return `certificate valid for at least ${fmt(a.min_days)} days`;
      default:
        return JSON.stringify(a);
    }
  }

  function renderSettings(m) {
    const view = $("settings-view");
    const r = m.request || { method: "GET", headers: {}, follow_redirects: true };
    const rows = [];
    const add = (term, ...values) => rows.push([term, values]);
    add(
      "Request",
      `${r.method} ${m.url}`,
      r.timeout_s ? `timeout ${r.timeout_s} s` : "timeout: the deployment's TIMEOUT",
      r.follow_redirects === false ? "redirects are not followed" : "redirects are followed"
    );
    const headers = Object.entries(r.headers || {});
    if (headers.length) add("Headers", ...headers.map(([name, value]) => `${name}: ${value}`));
    if (r.body !== null && r.body !== undefined) {
      const pre = el("pre", "body-text", r.body.length > 2000 ? `${r.body.slice(0, 2000)}…` : r.body);
      add("Request body", ...(r.content_type ? [`Content-Type: ${r.content_type}`] : []), pre);
    }
    const assertions = m.assertions || [];
    add("Assertions", ...(assertions.length ? assertions.map(describeAssertion) : ["none: a final status below 400 is a success"]));
    add(
      "Degraded",
      m.degraded_after_ms ? `a passing answer slower than ${fmt(m.degraded_after_ms)} ms is flagged degraded` : "not set"
    );
    add(
      "Schedule",
      `every ${everyText(m.interval)}${m.interval_is_default ? " (the default, CYCLE_INTERVAL)" : ""}`,
      `from ${(m.regions || []).join(", ") || "–"}${m.regions_are_default ? " (every region)" : ""}`
    );
    if (m.owner) add("Owner", `${m.owner} (managed by a monitors file: the next “service-monitor apply” of it undoes edits made here)`);
    view.replaceChildren(
      ...rows.flatMap(([term, values]) => {
        const dd = el("dd");
        const list = values.map((v) => (typeof v === "string" ? el("span", "", v) : v));
        dd.append(...list);
        return [el("dt", "", term), dd];
      })
    );
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
      region: el("td", "region-col", check.region || ""),
      status: el("td"),
      http: el("td", "num", check.http_status ?? "–"),
      latency: el("td", "num", `${fmt(check.latency_ms)} ms`),
      cause: el("td", "", check.cause ? check.cause.replaceAll("_", " ") : ""),
      detail: el("td", "detail-col", check.detail || ""),
    };
    cells.status.append(checkBadge(check));
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

  async function loadDetail(keepMessage = false) {
    const mine = ++seq.detail;
    const id = state.monitorId;
    const span = state.historySpan;
    const region = state.region;
    const only = region ? `&region=${encodeURIComponent(region)}` : "";
    const incidents = loadMonitorIncidents();
    const [detail, history, channels, regionChecks] = await Promise.allSettled([
      api("GET", `/urls/${id}`),
      api("GET", `/urls/${id}/history?span=${span}${only}`),
      loadChannelList(),
      region ? api("GET", `/urls/${id}/checks?limit=20${only}`) : Promise.resolve(null),
    ]);
    await incidents;
    if (mine !== seq.detail) return;
    const message = $("detail-message");
    if (keepMessage !== true) message.replaceChildren();
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
      const slow = c.hour.degraded ? ` (${fmt(c.hour.degraded)} degraded)` : "";
      $("detail-facts").textContent =
        `${m.state} · added ${full(m.created_at)} · ` +
        `past hour ${fmt(c.hour.success)} ok${slow} / ${fmt(c.hour.fail)} failed · ` +
        `7 days ${ratio(c.week)} · 30 days ${ratio(c.month)} up`;
      renderFlags(m);
      state.monitor = m;
      if ($("edit-form").hidden) renderSettings(m);
      if ($("alerting-form").hidden) renderAlerting(m, channels.status === "fulfilled" ? channels.value : null);
      renderRegions(m);
      const recent = $("recent").tBodies[0];
      const columns = ["when", "region", "status", "http", "latency", "cause", "detail"];
      if (regionChecks.status === "rejected") {
        recent.replaceChildren(emptyRow(`Could not load: ${regionChecks.reason.message}`, 7));
      } else {
        const shown = region ? regionChecks.value.items : m.checks;
        const none = region ? `No check from ${region} yet.` : "No check yet: the next cycle probes it.";
        recent.replaceChildren(...(shown.length ? shown.map((check) => checkRow(check, columns)) : [emptyRow(none, 7)]));
      }
      $("detail").dataset.region = region;
    }
    const chart = $("latency-chart");
    const strip = $("status-strip");
    const failures = $("failures").tBodies[0];
    if (history.status === "rejected") {
      readFailed(history.reason, chart);
      strip.replaceChildren();
      failures.replaceChildren(emptyRow(`Could not load: ${history.reason.message}`, 6));
    } else {
      const h = history.value;
      chart.replaceChildren(latencyChart(h.buckets, h.bucket_seconds));
      strip.replaceChildren(statusStrip(h.buckets, h.bucket_seconds));
      failures.replaceChildren(
        ...(h.failures.length
          ? h.failures.map((check) => checkRow(check, ["when", "region", "cause", "http", "latency", "detail"]))
          : [emptyRow("No failure in this span.", 6)])
      );
      $("detail").dataset.span = span;
    }
  }

  const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
  // tls_expires_at as the API gives it: an ISO date-time (or seconds since the epoch)
  const toDate = (value) => new Date(typeof value === "number" ? value * 1000 : value);

  // The line under a monitor's facts: its latest check (with the failure's detail, or the
  // degraded flag), its degraded counts and the days left on its TLS certificate.
  function renderFlags(m) {
    const flags = [];
    const last = m.checks[0];
    if (last) {
      const flag = el("span", "flag latest");
      let text;
      if (last.status !== "success") {
        text = last.detail || (last.cause ? last.cause.replaceAll("_", " ") : "failed");
      } else if (last.degraded) {
        text = `answered in ${fmt(last.latency_ms)} ms, over the degraded limit of ${fmt(m.degraded_after_ms)} ms`;
      } else {
        text = `answered in ${fmt(last.latency_ms)} ms`;
      }
      flag.append("Latest check ", checkBadge(last), " ", el("span", "", `${text} · ${ago(last.checked_at)}`));
      flags.push(flag);
    }
    const c = m.counts;
    const degraded = [c.hour, c.week, c.month].map((s) => s.degraded || 0);
    if (m.degraded_after_ms || degraded.some(Boolean)) {
      flags.push(
        el(
          "span",
          `flag degraded-counts${degraded[0] ? " warn" : ""}`,
          `Degraded: ${fmt(degraded[0])} in the past hour · ${fmt(degraded[1])} in 7 days · ${fmt(degraded[2])} in 30 days`
        )
      );
    }
    const days = tlsDaysLeft(m);
    if (days !== null) {
      const newest = m.checks.find((check) => check.tls_expires_at);
      const until = newest ? `, until ${dateFormat.format(toDate(newest.tls_expires_at))}` : "";
      const text = days < 0 ? `TLS certificate expired${until.replace(", until", " on")}` : `TLS certificate: ${fmt(days)} days left${until}`;
      flags.push(el("span", `flag tls ${tlsClass(days)}`.trim(), text));
    }
    $("detail-flags").replaceChildren(...flags);
  }

  // -- a monitor's schedule: how often it is checked and from where (issue 17) ----------------

  function everyText(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
      if (seconds >= size && seconds % size === 0) return `${fmt(seconds / size)} ${unit}`;
    }
    return `${fmt(seconds)} s`;
  }

  function intervalCell(item) {
    const td = el("td", "num every-col", everyText(item.interval));
    td.title = item.interval_is_default ? "the default interval (CYCLE_INTERVAL)" : "its own interval";
    if (!item.interval_is_default) td.classList.add("own");
    return td;
  }

  // GET /regions once: what the forms offer and the filter lists.
  async function loadFleet() {
    if (!state.fleet) state.fleet = await api("GET", "/regions");
    return state.fleet;
  }

  // The interval and region inputs of the add form and of the edit form.
  function scheduleEditor(prefix, container) {
    const interval = input("number", "default");
    interval.name = "interval";
    interval.min = "60";
    interval.max = "86400";
    interval.step = "1";
    const intervalBox = labelled(`${prefix}-interval`, "Check every (seconds, 60 to 86400; empty: the default)", interval);
    const regions = el("fieldset", "group");
    regions.id = `${prefix}-regions`;
    const list = el("div", "rows region-list");
    regions.append(el("legend", "", "Probed from (none ticked: every region)"), list);
    container.replaceChildren(intervalBox, regions);
    let ticked = null; // the monitor's own regions to tick once the list is loaded

    function draw(fleet) {
      interval.placeholder = `default (${fmt(fleet.default_interval)} s)`;
      list.replaceChildren(
        ...fleet.regions.map((name) => {
          const label = el("label", "check");
          const box = input("checkbox");
          box.value = name;
          box.name = "regions";
          box.checked = (ticked || []).includes(name);
          label.append(box, ` ${name}`);
          return label;
        })
      );
    }
    loadFleet().then(draw, (error) => list.replaceChildren(el("p", "message error", `Could not load the regions: ${error.message}`)));

    return {
      // {interval, regions}: null for the defaults (every region when none is ticked)
      read() {
        const boxes = [...list.querySelectorAll("input[type=checkbox]")];
        const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
        // Not loaded: keep what the monitor had rather than send every region.
        const regions = boxes.length ? (chosen.length ? chosen : null) : ticked;
        return { interval: numberOrNull(interval), regions };
      },
      fill(monitor) {
        interval.value = monitor && !monitor.interval_is_default ? monitor.interval : "";
        ticked = monitor && !monitor.regions_are_default ? monitor.regions : null;
        for (const box of list.querySelectorAll("input[type=checkbox]")) box.checked = (ticked || []).includes(box.value);
      },
      locate(loc) {
        if (loc[0] === "interval") return [interval, "Check every"];
        if (loc[0] === "regions") return [regions, "Regions"];
        return null;
      },
    };
  }

  // The monitor page's regions: each one's newest check and past day, and the filter's choices.
  function renderRegions(m) {
    const body = $("region-table").tBodies[0];
    const rows = (m.regions_status || []).map((r) => {
      const tr = el("tr");
      tr.dataset.region = r.region;
      const name = el("td", "", r.region);
      if (!r.scheduled) name.append(el("span", "muted", " (no longer probed from)"));
      const status = el("td");
      if (r.last_check) status.append(checkBadge(r.last_check));
      const health = el("td");
      health.append(el("span", `badge health-${r.health}`, r.health));
      tr.append(
        name,
        health,
        el("td", "", r.last_check ? `${full(r.last_check.checked_at)} (${ago(r.last_check.checked_at)})` : "no check yet"),
        status,
        el("td", "num", fmt(r.day.success)),
        el("td", "num", fmt(r.day.fail))
      );
      return tr;
    });
    body.replaceChildren(...(rows.length ? rows : [emptyRow("No region.", 6)]));
    const filter = $("region-filter");
    const names = new Set([...(state.fleet ? state.fleet.regions : []), ...(m.regions || [])]);
    if (state.region) names.add(state.region);
    const wanted = ["", ...[...names].sort()];
    const have = [...filter.options].map((o) => o.value);
    if (wanted.join("\n") !== have.join("\n")) {
      filter.replaceChildren(
        ...wanted.map((name) => {
          const option = el("option", "", name || "every region");
          option.value = name;
          return option;
        })
      );
    }
    filter.value = state.region;
  }

  // -- editing a monitor's settings (PATCH /urls/{id}) ----------------------------------------

  function openEdit(open) {
    if (open && !state.monitor) return; // not loaded yet: nothing to edit from
    const form = $("edit-form");
    form.hidden = !open;
    $("settings-view").hidden = open;
    $("settings-edit").hidden = open;
    $("settings-edit").setAttribute("aria-expanded", String(open));
    if (!open) {
      if (state.monitor) renderSettings(state.monitor);
      return;
    }
    const m = state.monitor;
    clearFieldErrors(form);
    $("edit-message").replaceChildren();
    $("edit-name").value = m.name;
    $("edit-url").value = m.url;
    editors.edit.fill(m);
    schedules.edit.fill(m);
    $("edit-name").focus();
  }

  async function saveEdit(event) {
    event.preventDefault();
    const form = $("edit-form");
    const message = $("edit-message");
    const fields = { name: $("edit-name"), url: $("edit-url") };
    clearFieldErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const id = state.monitorId;
    // Secret header values come back as <redacted>: sent as they are, the API keeps the stored ones.
    const body = { name: fields.name.value, url: fields.url.value, ...editors.edit.read(), ...schedules.edit.read() };
    try {
      const answer = await api("PATCH", `/urls/${id}`, body);
      if (id !== state.monitorId) return;
      const changed = answer.changed || [];
      openEdit(false);
      setMessage($("detail-message"), "ok", [changed.length ? `Saved: ${changed.join(", ")} changed.` : "Nothing changed."]);
      await loadDetail(true);
    } catch (error) {
      formFailed(message, form, error, (loc, why) => {
        if (fields[loc[0]] && loc.length === 1) return [fields[loc[0]], loc[0]];
        return schedules.edit.locate(loc) || editors.edit.locate(loc, why);
      });
    } finally {
      button.disabled = false;
    }
  }

  // -- alerting: health, incidents, channels, maintenance windows (issue 16) ----------------

  const LIST_SIZE = 25; // rows a page of incidents
  const HISTORY_SIZE = 10; // rows a page of a monitor's incident history

  // A monitor's health as the API gives it ({state: up | down | unknown, since, ...}).
  function healthBadge(health) {
    const badge = el("span", `badge health-${health.state}`, health.state);
    const since = health.since ? `since ${full(health.since)}` : "no check judged yet";
    badge.title = `${health.state} ${since}`;
    return badge;
  }

  // Whole seconds as a person says them: 45 s, 12 min, 3 h 5 min, 2 d 4 h.
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) {
      const m = Math.floor((s % 3600) / 60);
      return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ""}`;
    }
    const h = Math.floor((s % 86400) / 3600);
    return `${Math.floor(s / 86400)} d${h ? ` ${h} h` : ""}`;
  }

  const causeText = (cause) => (cause ? cause.replaceAll("_", " ") : "–");

  // "http status: status 503 is not below 400"; the detail alone when it already names its cause.
  function causeAndDetail(incident) {
    const cause = incident.cause ? causeText(incident.cause) : "";
    const detail = incident.detail || "";
    if (!detail) return cause;
    return !cause || detail.toLowerCase().startsWith(cause) ? detail : `${cause}: ${detail}`;
  }

  function incidentState(incident) {
    const open = incident.state === "open";
    return el("span", `badge ${open ? "health-down" : "health-up"}`, open ? "open" : "resolved");
  }

  function monitorLink(incident) {
    if (incident.monitor_name === null || incident.monitor_name === undefined) {
      return el("span", "muted", `monitor ${incident.monitor_id} (deleted)`);
    }
    return link(`#/monitors/${incident.monitor_id}`, incident.monitor_name);
  }

  // A row of an incident table; `columns` picks and orders the cells.
  function incidentRow(incident, columns) {
    const tr = el("tr");
    tr.dataset.id = incident.id;
    const cells = {
      id: el("td", "name"),
      monitor: el("td", "name"),
      state: el("td"),
      started: el("td", "", full(incident.started_at)),
      resolved: el("td", "", incident.resolved_at ? full(incident.resolved_at) : "–"),
      duration: el("td", "num", duration(incident.duration_s)),
      cause: el("td", "", causeText(incident.cause)),
      detail: el("td", "detail-col", incident.detail || ""),
    };
    cells.id.append(link(`#/incidents/${incident.id}`, `#${incident.id}`));
    cells.monitor.append(monitorLink(incident));
    cells.state.append(incidentState(incident));
    for (const column of columns) tr.append(cells[column]);
    return tr;
  }

  // -- the overview's health card: counts and the open incidents -----------------------------

  function renderHealthCounts(health, open) {
    if (!health) return;
    $("health-up").textContent = fmt(health.up);
    $("health-down").textContent = fmt(health.down);
    $("health-unknown").textContent = fmt(health.unknown);
    if (open !== undefined) setOpenCount(open);
  }

  function setOpenCount(open) {
    const pill = $("nav-open");
    pill.textContent = fmt(open);
    pill.hidden = !open;
    pill.title = `${fmt(open)} open incident${open === 1 ? "" : "s"}`;
  }

  const OPEN_SHOWN = 10;

  async function loadOpenIncidents() {
    const mine = ++seq.open;
    const box = $("open-incidents");
    try {
      const page = await api("GET", `/incidents?state=open&limit=${OPEN_SHOWN}`);
      if (mine !== seq.open) return;
      setOpenCount(page.total);
      $("health").classList.toggle("alarm", page.total > 0);
      if (!page.items.length) {
        box.replaceChildren(el("p", "ok calm", "No open incident."));
        return;
      }
      const head = el("h3", "bad", `${fmt(page.total)} open incident${page.total === 1 ? "" : "s"}`);
      const list = el("ul", "incident-list");
      for (const incident of page.items) {
        const li = el("li");
        li.dataset.id = incident.id;
        const since = el("span", "since", `down since ${when(incident.started_at)} (${duration(incident.duration_s)})`);
        since.title = `first failure ${full(incident.started_at)}; incident opened ${full(incident.opened_at)}`;
        const cause = el("span", "cause", causeAndDetail(incident));
        li.append(el("span", "badge health-down", "down"), " ", monitorLink(incident), " ", since, " ", cause, " ");
        li.append(link(`#/incidents/${incident.id}`, `incident #${incident.id}`));
        list.append(li);
      }
      const parts = [head, list];
      if (page.total > page.items.length) parts.push(link("#/incidents", `All ${fmt(page.total)} open incidents ›`));
      box.replaceChildren(...parts);
    } catch (error) {
      if (mine === seq.open) readFailed(error, box);
    }
  }

  // -- a monitor's page: its health, thresholds, channels and incident history ----------------

  async function loadChannelList() {
    const page = await api("GET", "/channels");
    state.channels = page.items;
    return page.items;
  }

  function renderAlerting(m, channels) {
    const h = m.health || { state: "unknown", failures: 0, successes: 0 };
    const rows = [];
    const add = (term, ...values) => rows.push([term, values]);
    const stateLine = el("span", "");
    stateLine.append(healthBadge(h), " ", h.since ? `since ${full(h.since)} (${ago(h.since)})` : "no check judged yet");
    if (h.incident_id) stateLine.append(" · ", link(`#/incidents/${h.incident_id}`, `incident #${h.incident_id}`));
    const t = m.thresholds || {};
    // The store stops counting a run once it has reached its threshold (nothing changes after):
    // a run that long is said as "at least".
    const run = (n, threshold, kind) =>
      `${n >= threshold ? "at least " : ""}${fmt(n)} ${kind} check${n === 1 ? "" : "s"} in a row`;
    const streak = h.failures
      ? run(h.failures, t.failure, "failed")
      : h.successes
        ? run(h.successes, t.success, "successful")
        : "no check yet";
    add("State", stateLine, streak);
    const whose = (own) => (own === null || own === undefined ? "the default" : "its own");
    add(
      "Thresholds",
      `down after ${fmt(t.failure)} failed checks in a row (${whose(m.failure_threshold)})`,
      `up again after ${fmt(t.success)} successful checks in a row (${whose(m.success_threshold)})`
    );
    const named = m.channels || [];
    const channelLinks = (names) => {
      const span = el("span", "");
      names.forEach((n, i) => span.append(i ? ", " : "", link("#/channels", n)));
      return span;
    };
    if (named.length) {
      add("Channels", channelLinks(named));
    } else if (channels === null) {
      add("Channels", "none named: the default channels");
    } else {
      const defaults = channels.filter((c) => c.is_default).map((c) => c.name);
      if (defaults.length) {
        const span = el("span", "");
        span.append("none named: the default channels (", channelLinks(defaults), ")");
        add("Channels", span);
      } else {
        add("Channels", el("span", "warn", "none named, and no channel is a default: nobody is told of its incidents"));
      }
    }
    $("alerting-view").replaceChildren(
      ...rows.flatMap(([term, values]) => {
        const dd = el("dd");
        dd.append(...values.map((v) => (typeof v === "string" ? el("span", "", v) : v)));
        return [el("dt", "", term), dd];
      })
    );
  }

  async function loadMonitorIncidents() {
    const mine = ++seq.monitorIncidents;
    const id = state.monitorId;
    const offset = state.monitorIncidentsOffset;
    const body = $("monitor-incident-table").tBodies[0];
    const columns = ["id", "state", "started", "resolved", "duration", "cause", "detail"];
    try {
      const page = await api("GET", `/urls/${id}/incidents?state=all&limit=${HISTORY_SIZE}&offset=${offset}`);
      if (mine !== seq.monitorIncidents) return;
      if (!page.items.length && page.total && offset) {
        state.monitorIncidentsOffset = Math.floor((page.total - 1) / HISTORY_SIZE) * HISTORY_SIZE;
        return loadMonitorIncidents();
      }
      body.replaceChildren(
        ...(page.items.length ? page.items.map((i) => incidentRow(i, columns)) : [emptyRow("No incident: it has never been down.", 7)])
      );
      setPager("monitor-incidents", page, page.items.length);
      $("monitor-incidents-prev").parentElement.hidden = page.total <= HISTORY_SIZE && page.offset === 0;
    } catch (error) {
      if (mine !== seq.monitorIncidents) return;
      body.replaceChildren(emptyRow(`Could not load: ${error.message}`, 7));
      readFailed(error, null);
    }
  }

  function openAlertingEdit(open) {
    if (open && !state.monitor) return;
    const form = $("alerting-form");
    form.hidden = !open;
    $("alerting-view").hidden = open;
    $("alerting-edit").hidden = open;
    $("alerting-edit").setAttribute("aria-expanded", String(open));
    if (!open) return;
    const m = state.monitor;
    clearFieldErrors(form);
    $("alerting-message").replaceChildren();
    const t = m.thresholds || {};
    const failure = $("alerting-failure");
    const success = $("alerting-success");
    failure.value = m.failure_threshold ?? "";
    success.value = m.success_threshold ?? "";
    failure.placeholder = m.failure_threshold === null ? `default (${t.failure})` : "default";
    success.placeholder = m.success_threshold === null ? `default (${t.success})` : "default";
    const list = $("alerting-channel-list");
    list.replaceChildren(el("p", "hint muted", "Loading the channels…"));
    loadChannelList().then(
      (channels) => {
        if (!channels.length) {
          const p = el("p", "hint muted", "No channel yet: ");
          p.append(link("#/channels", "add one"), ".");
          list.replaceChildren(p);
          return;
        }
        list.replaceChildren(
          ...channels.map((c) => {
            const label = el("label", "check");
            const box = input("checkbox");
            box.value = c.name;
            box.checked = (m.channels || []).includes(c.name);
            label.append(box, ` ${c.name} (${c.type}${c.is_default ? ", default" : ""})`);
            return label;
          })
        );
      },
      (error) => list.replaceChildren(el("p", "message error", `Could not load the channels: ${error.message}`))
    );
    failure.focus();
  }

  async function saveAlerting(event) {
    event.preventDefault();
    const form = $("alerting-form");
    const message = $("alerting-message");
    clearFieldErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const id = state.monitorId;
    const body = {
      failure_threshold: numberOrNull($("alerting-failure")),
      success_threshold: numberOrNull($("alerting-success")),
    };
    const boxes = [...$("alerting-channel-list").querySelectorAll("input[type=checkbox]")];
    // Sent only when the list was loaded: a failed load must not detach the monitor's channels.
    if (boxes.length || !state.channels.length) body.channels = boxes.filter((b) => b.checked).map((b) => b.value);
    try {
      const answer = await api("PATCH", `/urls/${id}`, body);
      if (id !== state.monitorId) return;
      const changed = answer.changed || [];
      openAlertingEdit(false);
      setMessage($("detail-message"), "ok", [changed.length ? `Saved: ${changed.join(", ")} changed.` : "Nothing changed."]);
      await loadDetail(true);
    } catch (error) {
      const fields = {
        failure_threshold: [$("alerting-failure"), "Down after"],
        success_threshold: [$("alerting-success"), "Up again after"],
        channels: [$("alerting-channels"), "Channels"],
      };
      formFailed(message, form, error, (loc) => fields[loc[0]] || null);
    } finally {
      button.disabled = false;
    }
  }

  // -- the incidents view and an incident's page ------------------------------------------------

  async function loadIncidents() {
    const mine = ++seq.incidents;
    const { state: which, offset } = state.incidents;
    const body = $("incident-table").tBodies[0];
    const columns = ["id", "monitor", "state", "started", "duration", "cause", "detail"];
    try {
      const page = await api("GET", `/incidents?state=${which}&limit=${LIST_SIZE}&offset=${offset}`);
      if (mine !== seq.incidents) return;
      if (!page.items.length && page.total && offset) {
        state.incidents.offset = Math.floor((page.total - 1) / LIST_SIZE) * LIST_SIZE;
        return loadIncidents();
      }
      state.incidents.total = page.total;
      if (which === "open") setOpenCount(page.total);
      body.replaceChildren(
        ...(page.items.length
          ? page.items.map((i) => incidentRow(i, columns))
          : [emptyRow(which === "open" ? "No open incident: every monitor is up or not judged yet." : "No incident yet.", 7)])
      );
      setPager("incidents", page, page.items.length);
      $("incidents").dataset.state = which;
    } catch (error) {
      if (mine !== seq.incidents) return;
      body.replaceChildren(emptyRow(`Could not load: ${error.message}`, 7));
      readFailed(error, null);
    }
  }

  const NOTIFICATION_KINDS = {
    down: "down",
    resolved: "resolved",
    reminder: "reminder",
    storm: "storm (probing failing from here)",
    digest: "digest",
  };
  const NOTIFICATION_STATES = {
    pending: ["pending", "waiting to be sent (or retried)"],
    held: ["held", "held back: a maintenance window or the storm guard"],
    sent: ["sent", "the channel took it"],
    failed: ["failed", "given up after retrying"],
    merged: ["merged", "sent inside a digest"],
    dropped: ["dropped", "not sent: resolved meanwhile, or its channel was deleted"],
  };

  function notificationRow(n) {
    const tr = el("tr");
    const channel = el("td");
    if (n.channel === null || n.channel === undefined) channel.append(el("span", "muted", `channel ${n.channel_id} (deleted)`));
    else channel.append(link("#/channels", n.channel), el("span", "small", ` ${n.channel_type}`));
    const [text, title] = NOTIFICATION_STATES[n.state] || [n.state, ""];
    const stateCell = el("td");
    const badge = el("span", `badge note-${n.state}`, text);
    badge.title = title;
    stateCell.append(badge);
    tr.append(
      el("td", "", NOTIFICATION_KINDS[n.kind] || n.kind),
      channel,
      stateCell,
      el("td", "num", fmt(n.attempts)),
      el("td", "detail-col", n.last_error || ""),
      el("td", "", n.created_at ? full(n.created_at) : "–"),
      el("td", "", n.state === "pending" || n.state === "held" ? full(n.next_attempt_at) : "–"),
      el("td", "", n.sent_at ? full(n.sent_at) : "–")
    );
    return tr;
  }

  async function loadIncident() {
    const mine = ++seq.incident;
    const id = state.incidentId;
    const facts = $("incident-facts");
    const body = $("notification-table").tBodies[0];
    try {
      const i = await api("GET", `/incidents/${id}`);
      if (mine !== seq.incident) return;
      $("incident-title").textContent = `Incident #${i.id}: ${i.monitor_name ?? `monitor ${i.monitor_id}`}`;
      const rows = [
        ["Monitor", monitorLink(i)],
        ["State", incidentState(i)],
        ["Started", `${full(i.started_at)} (its first failed check)`],
        ["Opened", `${full(i.opened_at)} (the failure threshold was reached)`],
        ["Resolved", i.resolved_at ? `${full(i.resolved_at)}${i.resolution ? ` (${i.resolution})` : ""}` : "not yet"],
        ["Duration", i.state === "open" ? `${duration(i.duration_s)} so far` : duration(i.duration_s)],
        ["Cause", causeText(i.cause)],
        ["Detail", i.detail || "–"],
      ];
      if (i.url) rows.splice(1, 0, ["URL", i.url]);
      facts.replaceChildren(
        ...rows.flatMap(([term, value]) => {
          const dd = el("dd");
          dd.append(value);
          return [el("dt", "", term), dd];
        })
      );
      const notes = i.notifications || [];
      body.replaceChildren(
        ...(notes.length ? notes.map(notificationRow) : [emptyRow("No notification: no channel was to be told (none named and no default).", 8)])
      );
      $("incident").dataset.loaded = String(i.id);
    } catch (error) {
      if (mine !== seq.incident) return;
      $("incident-title").textContent = error.status === 404 ? "No such incident" : "Could not load this incident";
      facts.replaceChildren(el("dd", "message error", error.message));
      body.replaceChildren();
      readFailed(error, null);
    }
  }

  // -- the channels view --------------------------------------------------------------------

  function yesNo(value) {
    return value ? "yes" : "no";
  }

  function channelRow(c) {
    const tr = el("tr");
    tr.dataset.id = c.id;
    const actions = el("td", "actions");
    const test = smallButton("Test", `Test ${c.name}`);
    const edit = smallButton("Edit", `Edit ${c.name}`);
    const remove = el("button", "danger small-button", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete ${c.name}`);
    test.addEventListener("click", () => testChannel(c, test));
    edit.addEventListener("click", () => editChannel(c));
    armOnFirstClick(remove, "Confirm", async (disarm) => {
      disarm();
      await deleteChannel(c, false);
    });
    actions.append(test, " ", edit, " ", remove);
    const outcome = state.channelTests[c.id];
    if (outcome) {
      const line = el("span", `test-result ${outcome.ok ? "ok" : "bad"}`, outcome.ok ? `Test sent: ${outcome.detail}` : `Test failed: ${outcome.detail}`);
      actions.append(line);
    }
    const target = el("td", "url-col", c.target_hint);
    tr.append(
      el("td", "name", c.name),
      el("td", "", c.type),
      target,
      el("td", "", yesNo(c.is_default)),
      el("td", "", yesNo(c.send_resolved)),
      el("td", "", c.resend_every ? `every ${duration(c.resend_every)}` : "off"),
      el("td", "num", fmt(c.monitors)),
      actions
    );
    return tr;
  }

  async function loadChannels() {
    const mine = ++seq.channels;
    const body = $("channel-table").tBodies[0];
    try {
      const channels = await loadChannelList();
      if (mine !== seq.channels) return;
      body.replaceChildren(...(channels.length ? channels.map(channelRow) : [emptyRow("No channel yet: add one, and incidents are told there.", 8)]));
    } catch (error) {
      if (mine !== seq.channels) return;
      body.replaceChildren(emptyRow(`Could not load: ${error.message}`, 8));
      readFailed(error, null);
    }
  }

  async function testChannel(c, button) {
    button.disabled = true;
    button.textContent = "Sending…";
    try {
      state.channelTests[c.id] = await api("POST", `/channels/${c.id}/test`);
    } catch (error) {
      state.channelTests[c.id] = { ok: false, detail: error.message };
      if (error.status === 401 || error.status === 403) openKeyForm();
    }
    await loadChannels();
  }

  async function deleteChannel(c, force) {
    const message = $("channels-message");
    try {
      await api("DELETE", `/channels/${c.id}${force ? "?force=true" : ""}`);
      delete state.channelTests[c.id];
      setMessage(message, "ok", [`Deleted ${c.name}.`]);
      if (state.editingChannel && state.editingChannel.id === c.id) resetChannelForm();
    } catch (error) {
      const parts = [`Could not delete ${c.name}: ${error.message}`];
      if (error.status === 409 && !force) {
        const n = error.body.monitors ?? c.monitors;
        const forceButton = el("button", "danger small-button", `Delete anyway: ${fmt(n)} monitor${n === 1 ? "" : "s"} fall back to the default channels`);
        forceButton.type = "button";
        forceButton.addEventListener("click", () => deleteChannel(c, true));
        parts.push(" ", forceButton);
      } else if (error.status === 401 || error.status === 403) {
        parts.push(" Enter a key with the “API key” button.");
        openKeyForm();
      }
      setMessage(message, "error", parts);
    }
    await loadChannels();
  }

  function syncChannelType() {
    const type = $("channel-type").value;
    // The examples are in index.html (data-apprise, data-webhook): the script names no other origin.
    const url = $("channel-url");
    url.placeholder = state.editingChannel ? "unchanged (type a new URL to replace it)" : url.dataset[type];
    $("channel-rotate-box").hidden = !(state.editingChannel && state.editingChannel.type === "webhook");
  }

  function resetChannelForm() {
    state.editingChannel = null;
    const form = $("channel-form");
    form.reset();
    clearFieldErrors(form);
    $("channel-type").disabled = false;
    $("channel-form-title").textContent = "Add a channel";
    $("channel-submit").textContent = "Add channel";
    $("channel-cancel").hidden = true;
    syncChannelType();
  }

  function editChannel(c) {
    resetChannelForm();
    state.editingChannel = c;
    $("channel-form-title").textContent = `Edit channel ${c.name}`;
    $("channel-submit").textContent = "Save channel";
    $("channel-cancel").hidden = false;
    $("channel-name").value = c.name;
    $("channel-type").value = c.type;
    $("channel-type").disabled = true;
    $("channel-url").value = "";
    $("channel-default").checked = c.is_default;
    $("channel-resolved").checked = c.send_resolved;
    $("channel-resend").value = c.resend_every ? String(Math.round(c.resend_every / 60)) : "";
    $("channel-message").replaceChildren();
    syncChannelType();
    $("channel-name").focus();
  }

  function showSecret(name, secret) {
    $("channel-secret-name").textContent = name;
    $("channel-secret-value").value = secret;
    $("channel-secret-copy").textContent = "Copy";
    $("channel-secret").hidden = false;
  }

  async function copySecret() {
    const field = $("channel-secret-value");
    const button = $("channel-secret-copy");
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch {
      // No clipboard permission (or an insecure origin): select it for a manual copy.
      field.focus();
      field.select();
      button.textContent = "Selected: press Ctrl+C";
    }
  }

  async function saveChannel(event) {
    event.preventDefault();
    const form = $("channel-form");
    const message = $("channel-message");
    clearFieldErrors(form);
    const button = $("channel-submit");
    button.disabled = true;
    const minutes = numberOrNull($("channel-resend"));
    const editing = state.editingChannel;
    const body = {
      name: $("channel-name").value,
      is_default: $("channel-default").checked,
      send_resolved: $("channel-resolved").checked,
      resend_every: minutes === null ? null : Math.round(minutes * 60),
    };
    const url = $("channel-url").value.trim();
    if (!editing) {
      body.type = $("channel-type").value;
      body.url = url;
    } else {
      if (url) body.url = url;
      if ($("channel-rotate").checked) body.rotate_secret = true;
    }
    try {
      const answer = editing ? await api("PATCH", `/channels/${editing.id}`, body) : await api("POST", "/channels", body);
      resetChannelForm();
      if (editing) {
        const changed = answer.changed || [];
        setMessage(message, "ok", [changed.length ? `Saved ${answer.name}: ${changed.join(", ")} changed.` : `Nothing changed in ${answer.name}.`]);
      } else {
        setMessage(message, "ok", [`Added ${answer.name} (${answer.type}, ${answer.target_hint}). Try it with its Test button.`]);
      }
      if (answer.secret) showSecret(answer.name, answer.secret);
      else $("channel-secret").hidden = true;
      await loadChannels();
    } catch (error) {
      const fields = {
        name: [$("channel-name"), "Name"],
        type: [$("channel-type"), "Type"],
        url: [$("channel-url"), "URL"],
        is_default: [$("channel-default"), "Default"],
        send_resolved: [$("channel-resolved"), "Resolved"],
        resend_every: [$("channel-resend"), "Remind every"],
        rotate_secret: [$("channel-rotate"), "New secret"],
      };
      formFailed(message, form, error, (loc) => fields[loc[0]] || null);
      if (error.status === 422 && (error.body.errors || []).some((e) => (e.loc || []).includes("resend_every"))) {
        message.append(el("span", "muted", " (the API counts reminders in seconds: the box is in minutes)"));
      }
    } finally {
      button.disabled = false;
    }
  }

  // -- the maintenance view -----------------------------------------------------------------

  const localZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const monitorNames = new Map(); // id -> name, of the monitors windows name
  const pickable = new Map(); // lowercased name -> id, of the names the monitor box offered

  async function monitorName(id) {
    if (!monitorNames.has(id)) {
      try {
        monitorNames.set(id, (await api("GET", `/urls/${id}`)).name);
      } catch {
        monitorNames.set(id, null);
      }
    }
    return monitorNames.get(id);
  }

  function windowRow(w, name) {
    const tr = el("tr");
    tr.dataset.id = w.id;
    const scope = el("td", "name");
    if (w.monitor_id === null) scope.append(el("span", "", "All monitors"));
    else scope.append(name ? link(`#/monitors/${w.monitor_id}`, name) : el("span", "muted", `monitor ${w.monitor_id}`));
    const schedule = w.cron ? `cron “${w.cron}” in ${w.timezone}` : `once, from ${full(w.starts_at)}`;
    const now = el("td");
    if (w.active) {
      now.append(el("span", "badge maintenance", "active"), " ", el("span", "small", `until ${full(w.ends_at)}`));
    } else if (w.next_start) {
      now.append(el("span", "", `next ${full(w.next_start)}`));
    } else {
      now.append(el("span", "muted", "over"));
    }
    const actions = el("td", "actions");
    const remove = el("button", "danger small-button", "Delete");
    remove.type = "button";
    remove.setAttribute("aria-label", `Delete window ${w.id}`);
    armOnFirstClick(remove, "Confirm", async (disarm) => {
      disarm();
      try {
        await api("DELETE", `/maintenance/${w.id}`);
        setMessage($("windows-message"), "ok", [`Deleted window ${w.id}.`]);
      } catch (error) {
        setMessage($("windows-message"), "error", [`Could not delete window ${w.id}: ${error.message}`]);
      }
      await loadWindows();
    });
    actions.append(remove);
    tr.append(scope, el("td", "", schedule), el("td", "num", duration(w.duration)), now, el("td", "detail-col", w.note || ""), actions);
    return tr;
  }

  async function loadWindows() {
    const mine = ++seq.windows;
    const body = $("window-table").tBodies[0];
    try {
      const page = await api("GET", "/maintenance");
      const ids = [...new Set(page.items.map((w) => w.monitor_id).filter((id) => id !== null))];
      const names = await Promise.all(ids.map(monitorName));
      if (mine !== seq.windows) return;
      const byId = new Map(ids.map((id, i) => [id, names[i]]));
      body.replaceChildren(
        ...(page.items.length
          ? page.items.map((w) => windowRow(w, byId.get(w.monitor_id)))
          : [emptyRow("No maintenance window: every incident is told as it happens.", 6)])
      );
    } catch (error) {
      if (mine !== seq.windows) return;
      body.replaceChildren(emptyRow(`Could not load: ${error.message}`, 6));
      readFailed(error, null);
    }
  }

  function syncWindowForm() {
    const recurring = $("window-recurring").checked;
    $("window-start-box").hidden = recurring;
    $("window-cron-box").hidden = !recurring;
    $("window-zone-box").hidden = !recurring;
    $("window-monitor-box").hidden = $("window-all").checked;
  }

  async function suggestMonitors(text) {
    const q = text.trim();
    if (!q) return;
    try {
      const page = await api("GET", `/urls/overview?${new URLSearchParams({ q, limit: 10 })}`);
      const list = $("window-monitors");
      list.replaceChildren(
        ...page.items.map((item) => {
          pickable.set(item.name.toLowerCase(), item.id);
          const option = el("option");
          option.value = item.name;
          option.label = item.url;
          return option;
        })
      );
    } catch {
      // suggestions only: the submit says what is wrong
    }
  }

  // The id of the monitor named in the box: offered by the list, else asked by its exact name.
  async function pickedMonitor(name) {
    const key = name.trim().toLowerCase();
    if (pickable.has(key)) return pickable.get(key);
    const page = await api("GET", `/urls/overview?${new URLSearchParams({ q: name.trim(), limit: 100 })}`);
    const found = page.items.find((item) => item.name.toLowerCase() === key);
    return found ? found.id : null;
  }

  async function addWindow(event) {
    event.preventDefault();
    const form = $("window-form");
    const message = $("window-message");
    clearFieldErrors(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const minutes = numberOrNull($("window-duration"));
    const body = {
      duration: minutes === null ? null : Math.round(minutes * 60),
      note: $("window-note").value,
      monitor_id: null,
    };
    const fields = {
      starts_at: [$("window-start"), "Starts at"],
      cron: [$("window-cron"), "Cron expression"],
      timezone: [$("window-zone"), "Time zone"],
      duration: [$("window-duration"), "Lasts"],
      monitor_id: [$("window-monitor"), "Monitor"],
      note: [$("window-note"), "Note"],
      body: [$("window-kind"), "When"],
    };
    try {
      if ($("window-recurring").checked) {
        body.cron = $("window-cron").value.trim();
        body.timezone = $("window-zone").value.trim() || localZone;
      } else {
        const start = $("window-start").value;
        const at = start ? new Date(start) : null;
        if (!at || Number.isNaN(at.getTime())) {
          throw new ApiError(422, {
            detail: "starts_at: give the window's start (date and time)",
            errors: [{ loc: ["body", "starts_at"], msg: "give the window's start (date and time)" }],
          });
        }
        body.starts_at = at.toISOString();
      }
      if (!$("window-all").checked) {
        const name = $("window-monitor").value;
        const id = name.trim() ? await pickedMonitor(name) : null;
        if (id === null) {
          const why = name.trim() ? `no monitor is named “${name.trim()}”` : "type a monitor's name, or tick All monitors";
          throw new ApiError(422, { detail: `monitor_id: ${why}`, errors: [{ loc: ["body", "monitor_id"], msg: why }] });
        }
        body.monitor_id = id;
      }
      const w = await api("POST", "/maintenance", body);
      const next = w.active ? `active now, until ${full(w.ends_at)}` : w.next_start ? `next from ${full(w.next_start)}` : "no occurrence left";
      setMessage(message, "ok", [`Added window ${w.id}: ${next}.`]);
      const kind = $("window-recurring").checked;
      form.reset();
      $("window-recurring").checked = kind;
      $("window-once").checked = !kind;
      $("window-zone").value = localZone;
      syncWindowForm();
      await loadWindows();
    } catch (error) {
      formFailed(message, form, error, (loc) => fields[loc[0]] || (loc.length === 0 ? fields.body : null));
    } finally {
      button.disabled = false;
    }
  }

  function setupAlerting() {
    $("alerting-edit").addEventListener("click", () => openAlertingEdit(true));
    $("alerting-cancel").addEventListener("click", () => openAlertingEdit(false));
    $("alerting-form").addEventListener("submit", saveAlerting);
    $("monitor-incidents-prev").addEventListener("click", () => {
      state.monitorIncidentsOffset = Math.max(0, state.monitorIncidentsOffset - HISTORY_SIZE);
      loadMonitorIncidents();
    });
    $("monitor-incidents-next").addEventListener("click", () => {
      state.monitorIncidentsOffset += HISTORY_SIZE;
      loadMonitorIncidents();
    });
    $("incidents-switch").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-state]");
      if (!button || button.dataset.state === state.incidents.state) return;
      state.incidents.state = button.dataset.state;
      state.incidents.offset = 0;
      pressed($("incidents-switch"), state.incidents.state, "state");
      loadIncidents();
    });
    $("incidents-prev").addEventListener("click", () => {
      state.incidents.offset = Math.max(0, state.incidents.offset - LIST_SIZE);
      loadIncidents();
    });
    $("incidents-next").addEventListener("click", () => {
      if (state.incidents.offset + LIST_SIZE < state.incidents.total) state.incidents.offset += LIST_SIZE;
      loadIncidents();
    });
    $("channel-form").addEventListener("submit", saveChannel);
    $("channel-type").addEventListener("change", syncChannelType);
    $("channel-cancel").addEventListener("click", () => {
      resetChannelForm();
      $("channel-message").replaceChildren();
    });
    $("channel-secret-copy").addEventListener("click", copySecret);
    $("channel-secret-done").addEventListener("click", () => {
      $("channel-secret").hidden = true;
      $("channel-secret-value").value = "";
    });
    syncChannelType();
    $("window-local-zone").textContent = localZone;
    $("window-zone").value = localZone;
    if (typeof Intl.supportedValuesOf === "function") {
      $("window-zones").replaceChildren(
        ...Intl.supportedValuesOf("timeZone").map((zone) => {
          const option = el("option");
          option.value = zone;
          return option;
        })
      );
    }
    for (const id of ["window-once", "window-recurring", "window-all"]) $(id).addEventListener("change", syncWindowForm);
    let typing = null;
    $("window-monitor").addEventListener("input", (event) => {
      clearTimeout(typing);
      typing = setTimeout(() => suggestMonitors(event.target.value), 200);
    });
    $("window-form").addEventListener("submit", addWindow);
    syncWindowForm();
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
    return Promise.all([loadSummary(), loadTop(), loadTable(), loadOpenIncidents(), loadFleetCard()]);
  }

  // -- the overview's fleet card: shown once the planner has planned a slot -------------------

  async function loadFleetCard() {
    const mine = ++seq.fleet;
    const card = $("fleet");
    const box = $("fleet-body");
    try {
      const fleet = await api("GET", "/fleet?limit=5");
      if (mine !== seq.fleet) return;
      card.hidden = !fleet.recent_slots.length;
      if (card.hidden) return;
      const [last] = fleet.recent_slots;
      const parts = [];
      const slots = el("p", "", `Newest slot ${when(last.slot)}: `);
      slots.append(el("span", `badge slot-${last.state}`, last.state), ` ${fmt(last.monitors)} monitors in ${fmt(last.shards)} shards.`);
      parts.push(slots);
      const counts = fleet.slots;
      parts.push(el("p", counts.failed ? "bad" : "muted", `Slots: ${fmt(counts.done)} done, ${fmt(counts.planned)} in progress, ${fmt(counts.failed)} failed.`));
      if (fleet.streams) {
        const table = el("table", "fleet-streams");
        const head = el("tr");
        for (const name of ["Region", "Waiting", "In hand"]) head.append(el("th", name === "Region" ? "" : "num", name));
        const thead = el("thead");
        thead.append(head);
        table.append(thead);
        const body = el("tbody");
        for (const stream of fleet.streams) {
          const row = el("tr");
          row.dataset.region = stream.region;
          row.append(el("td", "", stream.region), el("td", "num", fmt(stream.lag)), el("td", "num", fmt(stream.pending)));
          body.append(row);
        }
        table.append(body);
        parts.push(table);
        parts.push(el("p", fleet.dead_letters ? "bad" : "muted", `Dead letters: ${fmt(fleet.dead_letters)}`));
      }
      box.replaceChildren(...parts);
    } catch (error) {
      if (mine === seq.fleet) readFailed(error, box);
    }
  }

  function refresh() {
    const loaders = {
      home: loadHome,
      detail: loadDetail,
      incidents: loadIncidents,
      incident: loadIncident,
      channels: loadChannels,
      maintenance: loadWindows,
    };
    return loaders[state.view]();
  }

  // The views and their hash routes: #/ (the overview), #/monitors/42, #/incidents,
  // #/incidents/7, #/channels, #/maintenance. A view's tab in the nav is marked current.
  const VIEWS = ["home", "detail", "incidents", "incident", "channels", "maintenance"];
  const NAV_OF = { home: "home", detail: "home", incidents: "incidents", incident: "incidents", channels: "channels", maintenance: "maintenance" };

  function parseRoute(hash) {
    let match = /^#\/monitors\/(\d+)$/.exec(hash);
    if (match) return ["detail", Number(match[1])];
    match = /^#\/incidents\/(\d+)$/.exec(hash);
    if (match) return ["incident", Number(match[1])];
    match = /^#\/(incidents|channels|maintenance)\/?$/.exec(hash);
    if (match) return [match[1], null];
    return ["home", null];
  }

  function showView(view) {
    state.view = view;
    for (const name of VIEWS) $(name).hidden = name !== view;
    for (const a of document.querySelectorAll("nav.views a")) {
      if (a.dataset.view === NAV_OF[view]) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
  }

  async function route() {
    const [view, id] = parseRoute(location.hash);
    const previous = state.monitorId;
    state.monitorId = view === "detail" ? id : null;
    state.incidentId = view === "incident" ? id : null;
    showView(view);
    if (view !== "detail" || id !== previous) {
      state.monitorIncidentsOffset = 0;
      state.region = "";
    }
    if (view === "home") {
      document.title = "service-monitor";
      await loadHome();
    } else if (view === "incidents") {
      document.title = "incidents · service-monitor";
      await loadIncidents();
    } else if (view === "incident") {
      document.title = `incident ${id} · service-monitor`;
      $("incident-title").textContent = "";
      $("incident-facts").replaceChildren();
      $("notification-table").tBodies[0].replaceChildren();
      await loadIncident();
    } else if (view === "channels") {
      document.title = "channels · service-monitor";
      await loadChannels();
    } else if (view === "maintenance") {
      document.title = "maintenance · service-monitor";
      await loadWindows();
    } else {
      document.title = `monitor ${id} · service-monitor`;
      $("detail-name").textContent = "";
      $("detail-url").textContent = "";
      $("detail-flags").replaceChildren();
      $("settings-view").replaceChildren();
      $("alerting-view").replaceChildren();
      state.monitor = null;
      openEdit(false);
      openAlertingEdit(false);
      await loadDetail();
    }
  }

  function setup() {
    setupKey();
    editors.add = checkEditor("add", $("add-check"));
    editors.edit = checkEditor("edit", $("edit-check"));
    schedules.add = scheduleEditor("add", $("add-schedule"));
    schedules.edit = scheduleEditor("edit", $("edit-schedule"));
    $("region-filter").addEventListener("change", (event) => {
      state.region = event.target.value;
      loadDetail();
    });
    $("add-form").addEventListener("submit", addUrl);
    $("settings-edit").addEventListener("click", () => openEdit(true));
    $("edit-cancel").addEventListener("click", () => openEdit(false));
    $("edit-form").addEventListener("submit", saveEdit);
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
    setupAlerting();
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
