// Task-instance tab of the Elastic Jobs plugin: renders GET execution?dag_id=…&run_id=…&task_id=…
// with the browser's Airflow session (cookie), one page of target rows at a time; refreshes while
// the execution is active.
"use strict";

const REFRESH_MS = 5000;
const query = new URLSearchParams(window.location.search);
// Airflow's UI leaves "{MAP_INDEX}" as is on the page of an unmapped task instance.
if (!/^-?\d+$/.test(query.get("map_index") || "")) query.set("map_index", "-1");
// Rows per page: 100 unless the page's own URL says otherwise (the API allows up to 500).
const PAGE_SIZE = /^\d+$/.test(query.get("limit") || "") ? Number(query.get("limit")) : 100;
const state = { data: null, filter: "", offset: 0, timer: null, request: 0 };

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
}

function lifecycleCell(row, lifecycle) {
  cell(row, lifecycle, "lifecycle " + (lifecycle || ""));
}

function time(value) {
  return value ? new Date(value).toLocaleString() : "";
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

// The columns a step and a target execution share: lifecycle, attempts, start, end, last message.
function progressCells(row, execution) {
  lifecycleCell(row, execution.lifecycle);
  cell(row, execution.attempts);
  cell(row, time(execution.start_time));
  cell(row, time(execution.end_time));
  cell(row, execution.last_message);
}

function setFilter(lifecycle) {
  state.filter = lifecycle;
  state.offset = 0;
  document.getElementById("state-filter").value = lifecycle;
  load();
}

function setOffset(offset) {
  state.offset = Math.max(0, offset);
  load();
}

function renderPager(data) {
  const shown = data.targets.length;
  document.getElementById("page-info").textContent = data.total
    ? "Rows " + (data.offset + 1) + "-" + (data.offset + shown) + " of " + data.total
    : "No rows";
  document.getElementById("prev").disabled = data.offset === 0;
  document.getElementById("next").disabled = data.offset + shown >= data.total;
}

function renderCounts(counts) {
  const box = document.getElementById("counts");
  box.replaceChildren();
  const select = document.getElementById("state-filter");
  select.replaceChildren(new Option("every lifecycle", ""));
  for (const [lifecycle, count] of Object.entries(counts)) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = lifecycle;
    button.textContent = lifecycle + ": " + count;
    button.setAttribute("aria-pressed", String(state.filter === lifecycle));
    button.addEventListener("click", () => setFilter(state.filter === lifecycle ? "" : lifecycle));
    box.appendChild(button);
    select.appendChild(new Option(lifecycle + " (" + count + ")", lifecycle));
  }
  select.value = state.filter;
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

async function load() {
  clearTimeout(state.timer);
  const request = ++state.request; // an answer to an older request (before a click) is dropped
  let response;
  try {
    const params = new URLSearchParams(query);
    params.set("offset", String(state.offset));
    params.set("limit", String(PAGE_SIZE));
    if (state.filter) params.set("lifecycle", state.filter);
    else params.delete("lifecycle");
    response = await fetch("execution?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch (err) {
    if (request !== state.request) return;
    showError("Could not reach the Airflow API server: " + err);
    state.timer = setTimeout(load, REFRESH_MS);
    return;
  }
  const body = await response.json().catch(() => ({}));
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
    setOffset(Math.floor((body.total - 1) / PAGE_SIZE) * PAGE_SIZE);
    return;
  }
  state.data = body;
  render();
  if (body.active) state.timer = setTimeout(load, REFRESH_MS);
}

document.getElementById("state-filter").addEventListener("change", (event) => setFilter(event.target.value));
document.getElementById("prev").addEventListener("click", () => setOffset(state.offset - PAGE_SIZE));
document.getElementById("next").addEventListener("click", () => setOffset(state.offset + PAGE_SIZE));
load();
