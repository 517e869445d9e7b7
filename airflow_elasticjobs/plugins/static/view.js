// Task-instance tab of the Elastic Jobs plugin, with the browser's Airflow session (cookie):
// - GET execution?…: summary, counts, steps and ONE page of target rows, filtered on the server;
// - GET fleet?…: the fleet picture (a cell per target database), fetched again only when the
//   execution's version changed.
// While the execution is active, only the visible page is polled (plus the fleet when it changed).
"use strict";

const REFRESH_MS = 5000;
const NAME_DEBOUNCE_MS = 300;
const query = new URLSearchParams(window.location.search);
// Airflow's UI leaves "{MAP_INDEX}" as is on the page of an unmapped task instance.
if (!/^-?\d+$/.test(query.get("map_index") || "")) query.set("map_index", "-1");
// Rows per page: 100 unless the page's own URL says otherwise (the API allows up to 500).
const PAGE_SIZE = /^\d+$/.test(query.get("limit") || "") ? Number(query.get("limit")) : 100;
const NO_FILTER = { lifecycle: "", step: "", server: "", name: "" };
const state = {
  data: null,
  filter: { ...NO_FILTER },
  shownFilter: { ...NO_FILTER }, // the filters of the page on screen
  offset: 0,
  timer: null,
  request: 0,
  fleetVersion: null,
  fleetRequest: 0,
  nameTimer: null,
};

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
}

function time(value) {
  return value ? new Date(value).toLocaleString() : "";
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  return value < 10 ? value.toFixed(1) + " s" : Math.round(value) + " s";
}

// The columns a step and a target execution share: lifecycle, attempts, start, end, last message.
function progressCells(row, execution) {
  cell(row, execution.lifecycle, "lifecycle " + (execution.lifecycle || ""));
  cell(row, execution.attempts);
  cell(row, time(execution.start_time));
  cell(row, time(execution.end_time));
  cell(row, execution.last_message);
}

function renderSteps(steps) {
  const body = document.querySelector("#steps tbody");
  body.replaceChildren();
  for (const step of steps) {
    const row = body.insertRow();
    cell(row, step.step_id);
    cell(row, step.step_name);
    progressCells(row, step);
  }
}

function renderTargets(targets) {
  const body = document.querySelector("#targets tbody");
  body.replaceChildren();
  for (const target of targets) {
    const row = body.insertRow();
    row.dataset.lifecycle = target.lifecycle || "";
    cell(row, target.step_id + (target.step_name ? " " + target.step_name : ""));
    cell(row, target.server_name);
    cell(row, target.database_name || "(" + (target.target_type || "member") + ")");
    progressCells(row, target);
  }
}

// ---- filters (applied by the server) -------------------------------------------------------

function setFilter(changes) {
  state.filter = { ...state.filter, ...changes };
  state.offset = 0;
  showFilter();
  load();
}

function showFilter() {
  const f = state.filter;
  document.getElementById("state-filter").value = f.lifecycle;
  document.getElementById("step-filter").value = f.step;
  document.getElementById("server-filter").value = f.server;
  const name = document.getElementById("name-filter");
  if (name.value !== f.name) name.value = f.name;
  for (const square of document.querySelectorAll("#fleet-groups .cell.selected")) square.classList.remove("selected");
}

function fillSelect(id, options, every) {
  const select = document.getElementById(id);
  const current = select.value;
  select.replaceChildren(new Option(every, ""));
  for (const [value, label] of options) select.appendChild(new Option(label, String(value)));
  select.value = current;
}

function renderFilterChoices(data) {
  fillSelect("state-filter", Object.entries(data.counts).map(([l, n]) => [l, l + " (" + n + ")"]), "every lifecycle");
  fillSelect("step-filter", data.steps.map((s) => [s.step_id, s.step_id + " " + (s.step_name || "")]), "every step");
  fillSelect("server-filter", data.servers.map((s) => [s, s]), "every server");
  showFilter();
}

function renderCounts(counts) {
  const box = document.getElementById("counts");
  box.replaceChildren();
  for (const [lifecycle, count] of Object.entries(counts)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = lifecycle;
    button.dataset.lifecycle = lifecycle;
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.setAttribute("aria-hidden", "true");
    button.append(swatch, lifecycle + ": " + count);
    // Pressed once the filtered page is shown (set when the answer renders, not on click).
    button.setAttribute("aria-pressed", String(state.shownFilter.lifecycle === lifecycle));
    button.addEventListener("click", () =>
      setFilter({ lifecycle: state.filter.lifecycle === lifecycle ? "" : lifecycle })
    );
    box.appendChild(button);
  }
}

// ---- the fleet picture ---------------------------------------------------------------------

function cellText(group, square, fleet) {
  const [database, lifecycle, message, duration] = square;
  const parts = [database + " on " + group.server_name + ", step " + group.step_id + ": " + fleet.lifecycles[lifecycle]];
  if (duration !== null) parts.push("in " + seconds(duration));
  if (fleet.messages[message]) parts.push("— " + fleet.messages[message]);
  return parts.join(" ");
}

// Arrow keys, Home and End move within a group's squares; Tab moves to the next group (one stop each).
function moveFocus(event) {
  const squares = [...event.currentTarget.children];
  const at = squares.indexOf(document.activeElement);
  if (at < 0) return;
  const moves = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: squares.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = squares[Math.max(0, Math.min(squares.length - 1, moves[event.key]))];
  squares[at].tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}

function groupSummary(group, fleet) {
  const per = {};
  for (const square of group.cells) {
    const name = fleet.lifecycles[square[1]];
    per[name] = (per[name] || 0) + 1;
  }
  const counts = Object.entries(per).map(([name, n]) => n + " " + name);
  return group.cells.length + " databases: " + counts.join(", ");
}

function renderFleet(fleet) {
  const box = document.getElementById("fleet-groups");
  const detail = document.getElementById("cell-detail");
  box.replaceChildren();
  for (const group of fleet.groups) {
    const section = document.createElement("section");
    section.className = "group";
    const heading = document.createElement("h3");
    const title = document.createElement("button");
    title.type = "button";
    title.className = "group-filter";
    title.textContent = "Step " + group.step_id + " " + (group.step_name || "") + " · server " + group.server_name;
    title.title = "Show only the targets of this step on this server";
    title.addEventListener("click", () =>
      setFilter({ step: String(group.step_id), server: group.server_name, name: "", lifecycle: "" })
    );
    const summary = document.createElement("span");
    summary.className = "group-summary";
    summary.textContent = " — " + groupSummary(group, fleet);
    heading.append(title, summary);
    const squares = document.createElement("div");
    squares.className = "cells";
    squares.setAttribute("role", "group");
    squares.setAttribute("aria-label", heading.textContent + " (arrow keys move, Enter shows the row)");
    squares.addEventListener("keydown", moveFocus);
    const fragment = document.createDocumentFragment();
    group.cells.forEach((square, index) => {
      const button = document.createElement("button");
      const lifecycle = fleet.lifecycles[square[1]];
      const text = cellText(group, square, fleet);
      button.type = "button";
      button.className = "cell " + lifecycle;
      button.dataset.lifecycle = lifecycle;
      button.dataset.database = square[0];
      button.title = text;
      button.setAttribute("aria-label", text);
      button.tabIndex = index === 0 ? 0 : -1;
      button.addEventListener("focus", () => (detail.textContent = text));
      button.addEventListener("mouseenter", () => (detail.textContent = text));
      button.addEventListener("click", () => {
        setFilter({ step: String(group.step_id), server: group.server_name, name: square[0], lifecycle: "" });
        button.classList.add("selected");
      });
      fragment.appendChild(button);
    });
    squares.appendChild(fragment);
    section.append(heading, squares);
    box.appendChild(section);
  }
  renderHistogram(fleet.histogram);
}

function renderHistogram(histogram) {
  const figure = document.getElementById("histogram");
  figure.hidden = histogram.counts.length === 0;
  if (figure.hidden) return;
  const bars = document.getElementById("histogram-bars");
  bars.replaceChildren();
  const top = Math.max(...histogram.counts);
  histogram.counts.forEach((count, i) => {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.setAttribute("role", "listitem");
    bar.style.height = (top ? (100 * count) / top : 0) + "%";
    const text = seconds(histogram.edges[i]) + "–" + seconds(histogram.edges[i + 1]) + ": " + count + " targets";
    bar.title = text;
    bar.setAttribute("aria-label", text);
    bars.appendChild(bar);
  });
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  document.getElementById("histogram-total").textContent = total + " targets";
  document.getElementById("histogram-min").textContent = seconds(histogram.edges[0]);
  document.getElementById("histogram-max").textContent = seconds(histogram.edges[histogram.edges.length - 1]);
}

// ---- loading ---------------------------------------------------------------------------------

function renderPager(data) {
  const shown = data.targets.length;
  document.getElementById("page-info").textContent = data.total
    ? "Rows " + (data.offset + 1) + "-" + (data.offset + shown) + " of " + data.total
    : "No rows";
  document.getElementById("prev").disabled = data.offset === 0;
  document.getElementById("next").disabled = data.offset + shown >= data.total;
}

function render() {
  const data = state.data;
  const execution = data.execution;
  document.getElementById("title").textContent =
    "Job " + execution.job_name + ", execution " + execution.execution_id;
  const summary = document.getElementById("summary");
  summary.replaceChildren();
  const lifecycle = document.createElement("span");
  lifecycle.className = "lifecycle " + execution.lifecycle;
  lifecycle.id = "execution-lifecycle";
  lifecycle.textContent = execution.lifecycle;
  summary.append(
    "Agent " + data.agent.agent_name + " on server " + data.agent.server_name + ": ",
    lifecycle,
    execution.last_message ? " — " + execution.last_message : ""
  );
  if (data.url) {
    const link = document.createElement("a");
    link.href = data.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = /^https:\/\/portal\.azure\./.test(data.url)
      ? "open the job in the Azure portal"
      : "open in the emulator";
    summary.append(" (", link, ")");
  }
  renderCounts(data.counts);
  renderFilterChoices(data);
  renderSteps(data.steps);
  renderTargets(data.targets);
  renderPager(data);
  document.getElementById("refresh-note").textContent = data.active
    ? "Refreshing every " + REFRESH_MS / 1000 + " s while the execution runs."
    : "Updated " + new Date().toLocaleTimeString() + ".";
  document.getElementById("content").hidden = false;
}

function showError(message) {
  const error = document.getElementById("error");
  error.textContent = message;
  error.hidden = false;
  document.getElementById("summary").textContent = "";
}

async function getJson(endpoint, params) {
  const response = await fetch(endpoint + "?" + params.toString(), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  const body = await response.json().catch(() => ({}));
  return { response, body };
}

async function loadFleet(version) {
  const request = ++state.fleetRequest;
  const { response, body } = await getJson("fleet", query).catch(() => ({ response: { ok: false }, body: {} }));
  if (request !== state.fleetRequest || !response.ok) return;
  state.fleetVersion = version === body.version ? version : null; // changed meanwhile: fetch at next poll
  renderFleet(body);
}

async function load() {
  clearTimeout(state.timer);
  const request = ++state.request; // an answer to an older request (before a click) is dropped
  const filter = { ...state.filter };
  const params = new URLSearchParams(query);
  params.set("offset", String(state.offset));
  params.set("limit", String(PAGE_SIZE));
  for (const [key, value] of Object.entries(filter)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  let answer;
  try {
    answer = await getJson("execution", params);
  } catch (err) {
    if (request !== state.request) return;
    showError("Could not reach the Airflow API server: " + err);
    state.timer = setTimeout(load, REFRESH_MS);
    return;
  }
  const { response, body } = answer;
  if (request !== state.request) return;
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || body);
    showError(response.status === 401 ? "Sign in to Airflow to see this execution." : detail);
    // The task may not have started its execution yet: look again shortly.
    if (response.status === 404 || response.status === 502) state.timer = setTimeout(load, REFRESH_MS);
    return;
  }
  document.getElementById("error").hidden = true;
  // Rows ended before this page (a filter's rows went away): show the last page instead.
  if (body.offset > 0 && body.offset >= body.total) {
    state.offset = Math.floor((body.total - 1) / PAGE_SIZE) * PAGE_SIZE;
    load();
    return;
  }
  state.data = body;
  state.shownFilter = filter;
  render();
  if (body.version !== state.fleetVersion) loadFleet(body.version);
  if (body.active) state.timer = setTimeout(load, REFRESH_MS);
}

function setOffset(offset) {
  state.offset = Math.max(0, offset);
  load();
}

document.getElementById("state-filter").addEventListener("change", (e) => setFilter({ lifecycle: e.target.value }));
document.getElementById("step-filter").addEventListener("change", (e) => setFilter({ step: e.target.value }));
document.getElementById("server-filter").addEventListener("change", (e) => setFilter({ server: e.target.value }));
document.getElementById("name-filter").addEventListener("input", (e) => {
  clearTimeout(state.nameTimer);
  state.nameTimer = setTimeout(() => setFilter({ name: e.target.value.trim() }), NAME_DEBOUNCE_MS);
});
document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
document.getElementById("clear-filters").addEventListener("click", () => setFilter({ ...NO_FILTER }));
document.getElementById("prev").addEventListener("click", () => setOffset(state.offset - PAGE_SIZE));
document.getElementById("next").addEventListener("click", () => setOffset(state.offset + PAGE_SIZE));
load();
