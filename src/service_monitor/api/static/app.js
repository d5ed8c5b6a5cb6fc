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
    monitor: null, // its data as last loaded (what the edit form starts from)
    historySpan: "day",
    refreshes: 0,
  };
  const seq = { top: 0, table: 0, detail: 0 }; // answers to an older request are dropped
  const editors = {}; // the check editors of the add form and of the monitor page's edit form

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
    tr.append(name, el("td", "url-col", item.url), lastCheckCell(item));
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
      if (!page.items.length) {
        const td = el("td", "empty", state.q ? `No monitor matches “${state.q}”.` : "No monitor yet: add a URL above.");
        td.colSpan = 8;
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
      td.colSpan = 8;
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
    try {
      const monitor = await api("POST", "/urls/", body);
      setMessage(message, "ok", [
        "Added ",
        link(`#/monitors/${monitor.id}`, monitor.name),
        ` (id ${monitor.id}): probed from the next cycle on.`,
      ]);
      form.reset();
      editor.clear();
      $("add-advanced").open = false;
      loadTable();
    } catch (error) {
      formFailed(message, form, error, (loc, why) => {
        if (fields[loc[0]] && loc.length === 1) return [fields[loc[0]], loc[0]];
        const found = editor.locate(loc, why);
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
    const [detail, history] = await Promise.allSettled([
      api("GET", `/urls/${id}`),
      api("GET", `/urls/${id}/history?span=${span}`),
    ]);
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
      const recent = $("recent").tBodies[0];
      recent.replaceChildren(
        ...(m.checks.length
          ? m.checks.map((check) => checkRow(check, ["when", "status", "http", "latency", "cause", "detail"]))
          : [emptyRow("No check yet: the next cycle probes it.", 6)])
      );
    }
    const chart = $("latency-chart");
    const strip = $("status-strip");
    const failures = $("failures").tBodies[0];
    if (history.status === "rejected") {
      readFailed(history.reason, chart);
      strip.replaceChildren();
      failures.replaceChildren(emptyRow(`Could not load: ${history.reason.message}`, 5));
    } else {
      const h = history.value;
      chart.replaceChildren(latencyChart(h.buckets, h.bucket_seconds));
      strip.replaceChildren(statusStrip(h.buckets, h.bucket_seconds));
      failures.replaceChildren(
        ...(h.failures.length
          ? h.failures.map((check) => checkRow(check, ["when", "cause", "http", "latency", "detail"]))
          : [emptyRow("No failure in this span.", 5)])
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
    const body = { name: fields.name.value, url: fields.url.value, ...editors.edit.read() };
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
        return editors.edit.locate(loc, why);
      });
    } finally {
      button.disabled = false;
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
      $("detail-flags").replaceChildren();
      $("settings-view").replaceChildren();
      state.monitor = null;
      openEdit(false);
      await loadDetail();
    }
  }

  function setup() {
    setupKey();
    editors.add = checkEditor("add", $("add-check"));
    editors.edit = checkEditor("edit", $("edit-check"));
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
