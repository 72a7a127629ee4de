// The page of `agentcode serve`: ask -> code -> results, on one session that survives a reload.
// It talks to the /v1 API (the token is in an HttpOnly cookie) and streams over the WebSocket.
// The session id lives in the address (#session=...): a reload reattaches to it.
"use strict";

const $ = (id) => document.getElementById(id);
const { el } = Render;
let sessionId = null;
let socket = null;
let busy = false;
let pending = null; // {resolve, reject} of the request running on the socket
let editor = null;
let raw = ""; // the model's reply so far
let progress = null; // {what, models, rounds, round, started, timer}

// -- status and progress ------------------------------------------------------------------------

function setStatus(text) { $("status").textContent = text; }

function idleStatus() {
  setStatus(sessionId ? `session ${sessionId.slice(0, 8)} ready` : "no session");
}

function showProgress() {
  if (!progress) return;
  const seconds = ((Date.now() - progress.started) / 1000).toFixed(1);
  const parts = [progress.what];
  if (progress.models && progress.models.length) parts.push(progress.models.join(", "));
  parts.push(`${seconds} s`);
  if (progress.round) parts.push(progress.round);
  setStatus(parts.join(" · "));
}

function setBusy(what) {
  busy = Boolean(what);
  for (const id of ["generate", "verify", "run", "upload", "new-session", "model-choice"]) {
    $(id).disabled = busy;
  }
  $("stop").hidden = !busy;
  if (progress) clearInterval(progress.timer);
  progress = null;
  if (busy) {
    progress = { what, models: [], rounds: 0, round: "", started: Date.now() };
    progress.timer = setInterval(showProgress, 200);
    showProgress();
  } else idleStatus();
}

// -- the API and the stream ------------------------------------------------------------------------

async function api(method, path, body, raw_) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (raw_ !== undefined) {
    options.body = raw_;
    options.headers["Content-Type"] = "application/octet-stream";
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) {
    const error = new Error(data.detail || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

async function fetchText(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(response.statusText);
  return response.text();
}

function openSocket() {
  return new Promise((resolve, reject) => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/v1/sessions/${sessionId}/stream`);
    ws.onopen = () => { socket = ws; resolve(); };
    ws.onerror = () => reject(new Error("cannot open the live connection"));
    ws.onmessage = (message) => onEvent(JSON.parse(message.data));
    ws.onclose = () => {
      if (socket === ws) socket = null;
      if (pending) { pending.reject(new Error("the connection closed")); pending = null; }
    };
  });
}

function onEvent(event) {
  if (event.type === "started") {
    if (progress) Object.assign(progress, { models: event.models, rounds: event.rounds });
  } else if (event.type === "token") {
    raw += event.text;
    editor.setCode(Render.streamedCode(raw));
  } else if (event.type === "restart") {
    raw = "";
    if (progress) progress.round = event.text;
  } else if (event.type === "round") {
    if (progress) {
      const of = progress.rounds ? ` of ${progress.rounds}` : "";
      progress.round = `round ${event.index + 1}${of}: ${event.passed ? "ran cleanly" : event.error}`;
    }
  } else if (event.type === "stdout") $("stdout").textContent += event.text;
  else if (event.type === "stderr") $("stderr").textContent += event.text;
  else if (event.type === "result" || event.type === "error") {
    const done = pending;
    pending = null;
    if (!done) return;
    if (event.type === "result") done.resolve(event);
    else done.reject(Object.assign(new Error(event.message), { event }));
  }
}

async function send(message) {
  if (!socket) {
    try { await openSocket(); } catch (_) { await replaceSession(); }
  }
  return new Promise((resolve, reject) => {
    pending = { resolve, reject };
    socket.send(JSON.stringify(message));
  });
}

// -- sessions ---------------------------------------------------------------------------------------

function remember(id) {
  sessionId = id;
  history.replaceState(null, "", `${location.pathname}#session=${id}`);
  $("notebook").href = `/v1/sessions/${id}/notebook`;
}

async function createSession() {
  const model = $("model-choice").value || undefined;
  const created = await api("POST", "/v1/sessions", model ? { model } : {});
  remember(created.id);
  await openSocket();
  refreshInputs([]);
}

// Close the session this page used (its jail goes now, not when it would idle out) and start one.
async function replaceSession() {
  if (socket) socket.close();
  socket = null;
  if (sessionId) await api("DELETE", `/v1/sessions/${sessionId}`).catch(() => {});
  sessionId = null;
  clearResults();
  editor.setCode("");
  showAnswer(null);
  await createSession();
  refreshHistory();
}

async function reattach(id) {
  const info = await api("GET", `/v1/sessions/${id}`);
  remember(id);
  await openSocket();
  const configured = info.models.length === 1 ? info.models[0] : "";
  if ([...$("model-choice").options].some((o) => o.value === configured)) {
    $("model-choice").value = configured;
  }
  refreshInputs(info.inputs);
  const turns = info.turns;
  const lastGen = [...turns].reverse().find((t) => t.kind === "generate");
  const lastRun = [...turns].reverse().find((t) => t.kind === "execute");
  const last = turns[turns.length - 1];
  if (lastGen) { showAnswer(lastGen); $("prompt").value = lastGen.prompt; }
  if (last) editor.setCode(last.code || "");
  if (lastRun) showExecution(lastRun);
}

async function changeModel() {
  const model = $("model-choice").value || null;
  try {
    const info = await api("PUT", `/v1/sessions/${sessionId}/model`, { model });
    setStatus(`next requests ask ${info.models.join(", ")}`);
  } catch (error) { await recover(error); }
}

// -- generate, run, stop ----------------------------------------------------------------------------

async function onGenerate(verify) {
  const prompt = $("prompt").value.trim();
  if (!prompt || busy) return;
  const before = editor.getCode();
  setBusy(verify ? "verifying" : "generating");
  raw = "";
  editor.setCode("");
  showError(null);
  showTab("code");
  const message = { type: "generate", prompt };
  if (verify) message.verify = true;
  if ($("stdin").value) message.stdin = $("stdin").value;
  try {
    const generation = await send(message);
    editor.setCode(generation.code);
    showAnswer(generation);
  } catch (error) {
    editor.setCode(before); // a failed request keeps the code that was there
    await recover(error);
  } finally {
    setBusy(null);
    refreshHistory();
  }
}

async function onRun(code) {
  code = typeof code === "string" ? code : editor.getCode();
  if (!code.trim() || busy) return;
  setBusy("running");
  clearResults();
  showTab("results");
  const message = { type: "execute", code };
  if ($("stdin").value) message.stdin = $("stdin").value;
  try {
    showExecution(await send(message));
  } catch (error) {
    if (error.event && error.event.execution) showExecution(error.event.execution);
    await recover(error);
  } finally {
    setBusy(null);
    refreshHistory();
  }
}

function onStop() {
  if (busy && socket) {
    socket.send(JSON.stringify({ type: "stop" }));
    if (progress) progress.round = "stopping";
  }
}

async function recover(error) {
  showError(error.message);
  if (/no open session/.test(error.message)) {
    await replaceSession();
    setStatus("the old session was closed; a new one is ready (variables and files are gone)");
  }
}

// -- what is shown ----------------------------------------------------------------------------------

function clearResults() {
  for (const id of ["stdout", "stderr"]) $(id).textContent = "";
  $("outputs").replaceChildren();
  $("files").replaceChildren();
  $("written").hidden = true;
  $("duration").textContent = "";
  showError(null);
}

// The library's messages speak to the command line ("use ... with -m local"); here the model
// is chosen in the Model list.
function pageWords(text) {
  return /(^|\s)(-m|--model) /.test(text)
    ? `${text}\n(On this page a model is chosen in the Model list at the top.)` : text;
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text ? pageWords(text) : "";
}

function showAnswer(generation) {
  if (!generation) {
    $("answered-by").textContent = "";
    $("attempts").replaceChildren();
    return;
  }
  $("answered-by").replaceChildren(
    "answered by ", el("b", { text: generation.model_id }),
    el("span", { class: `label ${/cleanly/.test(generation.label || "") ? "good" : ""}`,
                 text: generation.label || "not run" }));
  const failed = (generation.attempts || []).filter((a) => a.error);
  $("attempts").replaceChildren(...failed.map((attempt) => el("li", {
    class: "failed", text: `${attempt.model}: ${attempt.error}` })));
}

function fileUrl(name) {
  return `/v1/sessions/${sessionId}/files/${name.split("/").map(encodeURIComponent).join("/")}`;
}

async function showExecution(execution) {
  $("stdout").textContent = execution.stdout;
  $("stderr").textContent = execution.stderr;
  $("duration").textContent = `${Math.round(execution.duration_ms)} ms, exit ${execution.exit_code}`;
  if (execution.error) showError(`${execution.error.name}: ${execution.error.value}`);
  $("outputs").replaceChildren(...Render.outputs(execution.outputs));
  const files = execution.files || [];
  $("written").hidden = !files.length;
  const items = await Promise.all(files.map((name) =>
    Render.writtenFile(name, fileUrl(name), fetchText)));
  $("files").replaceChildren(...items);
}

// -- files ------------------------------------------------------------------------------------------

async function onUpload() {
  const chosen = Array.from($("upload").files);
  if (!chosen.length || busy) return;
  setBusy("uploading");
  try {
    for (const file of chosen) {
      const name = encodeURIComponent(file.name);
      await api("PUT", `/v1/sessions/${sessionId}/files/${name}`, undefined, await file.arrayBuffer());
    }
    $("upload").value = "";
    refreshInputs((await api("GET", `/v1/sessions/${sessionId}`)).inputs);
  } catch (error) {
    await recover(error);
  } finally {
    setBusy(null);
  }
}

function refreshInputs(names) {
  $("inputs").replaceChildren(...names.map((name) =>
    el("li", {}, el("a", { href: fileUrl(name), download: name, text: name }))));
}

// -- history ----------------------------------------------------------------------------------------

let historyQuery = "";

async function refreshHistory() {
  const q = historyQuery.trim();
  try {
    const entries = await api("GET", `/v1/history?limit=50${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    $("history").replaceChildren(...entries.map(historyItem));
  } catch (_) { /* the history store may be off: the list stays empty */ }
}

function historyItem(entry) {
  const mine = entry.session_id === sessionId;
  const when = entry.created_at.replace("T", " ").slice(0, 16);
  const what = entry.kind === "gen"
    ? `${entry.prompt || ""}` : `run, exit ${entry.exit_code}${entry.error ? ` (${entry.error})` : ""}`;
  const head = el("div", { class: "entry-head" },
    el("span", { class: `badge ${mine ? "mine" : ""}`,
                 text: mine ? "this session" : `session ${(entry.session_id || "-").slice(0, 8)}` }),
    el("time", { datetime: entry.created_at, text: when }),
    el("span", { class: "what", text: what }));
  const code = el("code", { text: (entry.code || "").split("\n").slice(0, 3).join("\n") });
  const open = el("button", { type: "button", text: "Open in editor" });
  open.onclick = () => { if (entry.code && !busy) { editor.setCode(entry.code); showTab("code"); } };
  const again = el("button", { type: "button", text: "Run again" });
  again.onclick = () => { if (entry.code && !busy) { editor.setCode(entry.code); onRun(entry.code); } };
  return el("li", {}, head, el("pre", {}, code), el("div", { class: "buttons" }, open, again));
}

// -- models, tabs, keys -----------------------------------------------------------------------------

async function loadModels() {
  try {
    const models = await api("GET", "/v1/models");
    const choices = [["", `default (${models.configured.join(", ")})`],
      ...models.names.map((name) => [name, name])];
    $("model-choice").replaceChildren(...choices.map(([value, label]) =>
      el("option", { value, text: label })));
  } catch (_) { /* the default model is used */ }
}

const TABS = ["ask", "code", "results", "history"];

function showTab(name) {
  for (const tab of TABS) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(selected));
    $(`${tab}-panel`).classList.toggle("active", selected);
  }
}

function downloadCode() {
  const blob = new Blob([editor.getCode()], { type: "text/x-python" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "agentcode.py" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function toggleHelp(show) {
  const open = show === undefined ? $("shortcuts").hidden : show;
  $("shortcuts").hidden = !open;
  $("help").setAttribute("aria-expanded", String(open));
}

function onKey(e) {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable;
  if (e.key === "Escape") {
    if (busy) { e.preventDefault(); onStop(); } else toggleHelp(false);
  } else if (e.altKey && /^[1-4]$/.test(e.key)) {
    e.preventDefault();
    showTab(TABS[Number(e.key) - 1]);
  } else if (e.key === "?" && !typing) {
    e.preventDefault();
    toggleHelp();
  }
}

async function start() {
  editor = window.AgentcodeEditor.create($("editor"), { onRun: () => onRun() });
  $("ask").addEventListener("submit", (e) => { e.preventDefault(); onGenerate(false); });
  $("verify").addEventListener("click", () => onGenerate(true));
  $("run").addEventListener("click", () => onRun());
  $("stop").addEventListener("click", onStop);
  $("upload").addEventListener("change", onUpload);
  $("download-py").addEventListener("click", downloadCode);
  $("help").addEventListener("click", () => toggleHelp());
  $("new-session").addEventListener("click", () => replaceSession().then(idleStatus)
    .catch((e) => showError(e.message)));
  $("model-choice").addEventListener("change", changeModel);
  for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => showTab(tab));
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onGenerate(e.shiftKey); }
  });
  let searching = null;
  $("history-search").addEventListener("input", (e) => {
    historyQuery = e.target.value;
    clearTimeout(searching);
    searching = setTimeout(refreshHistory, 250);
  });
  document.addEventListener("keydown", onKey);
  await loadModels();
  const wanted = (location.hash.match(/session=([0-9a-f]{32})/) || [])[1];
  try {
    if (wanted) {
      try {
        await reattach(wanted);
      } catch (error) {
        if (error.status !== 404) throw error;
        setStatus("that session was closed; starting a new one");
        await createSession();
      }
    } else await createSession();
    idleStatus();
  } catch (error) {
    showError(error.message);
    setStatus("no session");
  }
  refreshHistory();
}

document.addEventListener("DOMContentLoaded", start);
