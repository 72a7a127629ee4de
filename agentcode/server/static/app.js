// The page of `agentcode serve`: prompt -> code editor -> results, on one session.
// It talks to the /v1 API (the token is in an HttpOnly cookie) and streams over the WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
let sessionId = null;
let socket = null;
let busy = false;
let pending = null; // {resolve, reject} of the operation running on the socket
let editor = null;

function setStatus(text) { $("status").textContent = text; }

function setBusy(value, what) {
  busy = value;
  for (const id of ["generate", "verify", "run", "upload", "new-session"]) $(id).disabled = value;
  setStatus(value ? what : `session ${sessionId ? sessionId.slice(0, 8) : "-"} ready`);
}

async function api(method, path, body, raw) {
  const options = { method, headers: {}, credentials: "same-origin" };
  if (raw !== undefined) {
    options.body = raw;
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

async function newSession() {
  const model = $("model-choice").value || undefined;
  if (socket) socket.close();
  if (sessionId) await api("DELETE", `/v1/sessions/${sessionId}`).catch(() => {});
  const created = await api("POST", "/v1/sessions", model ? { model } : {});
  sessionId = created.id;
  await openSocket();
  $("files").replaceChildren();
  $("history").replaceChildren();
  setBusy(false);
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
  if (event.type === "token") editor.appendCode(event.text);
  else if (event.type === "restart") { editor.setCode(""); setStatus(event.text); }
  else if (event.type === "stdout") $("stdout").textContent += event.text;
  else if (event.type === "stderr") $("stderr").textContent += event.text;
  else if (event.type === "result" || event.type === "error") {
    const done = pending;
    pending = null;
    if (!done) return;
    if (event.type === "result") done.resolve(event);
    else {
      const error = new Error(event.message);
      error.event = event;
      done.reject(error);
    }
  }
}

async function send(message) {
  if (!socket) {
    // The session may have been closed as idle: start a new one rather than fail.
    try { await openSocket(); } catch (_) { await newSession(); }
  }
  return new Promise((resolve, reject) => {
    pending = { resolve, reject };
    socket.send(JSON.stringify(message));
  });
}

async function onGenerate(verify) {
  const prompt = $("prompt").value.trim();
  if (!prompt || busy) return;
  setBusy(true, verify ? "generating and verifying..." : "generating...");
  editor.setCode("");
  showError(null);
  try {
    const generation = await send({ type: "generate", prompt, verify });
    editor.setCode(generation.code);
    showAnswer(generation);
  } catch (error) {
    await recover(error);
  } finally {
    setBusy(false);
    refreshHistory();
  }
}

async function onRun() {
  const code = editor.getCode();
  if (!code.trim() || busy) return;
  setBusy(true, "running...");
  clearResults();
  try {
    showExecution(await send({ type: "execute", code }));
  } catch (error) {
    if (error.event && error.event.execution) showExecution(error.event.execution);
    await recover(error);
  } finally {
    setBusy(false);
    refreshFiles();
    refreshHistory();
  }
}

async function recover(error) {
  showError(error.message);
  if (/no open session/.test(error.message)) {
    await newSession();
    setStatus("the old session was closed; a new one is ready (variables and files are gone)");
  }
}

function clearResults() {
  for (const id of ["stdout", "stderr"]) $(id).textContent = "";
  $("outputs").replaceChildren();
  $("duration").textContent = "";
  showError(null);
}

function showError(text) {
  $("error").hidden = !text;
  $("error").textContent = text || "";
}

function showAnswer(generation) {
  $("answered-by").textContent = generation.model_id +
    (generation.rounds && generation.rounds.length
      ? ` (${generation.verified ? "verified" : "NOT verified"}, ${generation.rounds.length} round(s))`
      : "");
  const items = (generation.attempts || []).map((attempt) => {
    const li = document.createElement("li");
    li.textContent = `${attempt.model}: ${attempt.error || "ok"} (${Math.round(attempt.duration_ms)} ms)`;
    if (attempt.error) li.className = "failed";
    return li;
  });
  $("attempts").replaceChildren(...items);
}

function showExecution(execution) {
  $("stdout").textContent = execution.stdout;
  $("stderr").textContent = execution.stderr;
  $("duration").textContent = `${Math.round(execution.duration_ms)} ms, exit ${execution.exit_code}`;
  if (execution.error) showError(`${execution.error.name}: ${execution.error.value}`);
  const nodes = [];
  for (const output of execution.outputs || []) {
    if (output.png) {
      const img = document.createElement("img");
      img.src = `data:image/png;base64,${output.png}`;
      img.alt = "figure";
      nodes.push(img);
    } else if (output.html) {
      // The code's HTML (a DataFrame) runs nothing: a sandboxed frame with its own origin.
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "");
      frame.className = "html-output";
      frame.srcdoc = output.html;
      nodes.push(frame);
    } else if (output.text !== null && output.text !== undefined) {
      const pre = document.createElement("pre");
      pre.className = "text-output";
      pre.textContent = output.text;
      nodes.push(pre);
    }
  }
  $("outputs").replaceChildren(...nodes);
}

async function onUpload() {
  const chosen = Array.from($("upload").files);
  if (!chosen.length || busy) return;
  setBusy(true, "uploading...");
  try {
    for (const file of chosen) {
      const name = encodeURIComponent(file.name);
      await api("PUT", `/v1/sessions/${sessionId}/files/${name}`, undefined, await file.arrayBuffer());
    }
    $("upload").value = "";
  } catch (error) {
    await recover(error);
  } finally {
    setBusy(false);
    refreshFiles();
  }
}

async function refreshFiles() {
  if (!sessionId) return;
  try {
    const { files } = await api("GET", `/v1/sessions/${sessionId}/files`);
    $("files").replaceChildren(...files.map((name) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `/v1/sessions/${sessionId}/files/${name.split("/").map(encodeURIComponent).join("/")}`;
      a.textContent = name;
      li.append(a);
      return li;
    }));
  } catch (_) { /* the session may be gone; the next action says so */ }
}

async function refreshHistory() {
  if (!sessionId) return;
  try {
    const entries = await api("GET", `/v1/sessions/${sessionId}/history`);
    $("history").replaceChildren(...entries.reverse().map((entry) => {
      const li = document.createElement("li");
      const what = entry.kind === "gen" ? `gen: ${entry.prompt}` : `run: exit ${entry.exit_code}`;
      li.textContent = `${entry.created_at.slice(11, 19)} ${what} `;
      const code = document.createElement("code");
      code.textContent = (entry.code || "").split("\n")[0].slice(0, 80);
      li.append(code);
      li.title = entry.code || "";
      li.onclick = () => { if (entry.code && !busy) editor.setCode(entry.code); };
      return li;
    }));
  } catch (_) { /* as above */ }
}

async function loadModels() {
  try {
    const models = await api("GET", "/v1/models");
    const choices = [["", `default (${models.configured.join(", ")})`],
      ...models.names.map((name) => [name, name])];
    $("model-choice").replaceChildren(...choices.map(([value, label]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      return option;
    }));
  } catch (_) { /* the default model is used */ }
}

async function start() {
  editor = window.AgentcodeEditor.create($("editor"), { onRun });
  $("ask").addEventListener("submit", (e) => { e.preventDefault(); onGenerate(false); });
  $("verify").addEventListener("click", () => onGenerate(true));
  $("run").addEventListener("click", onRun);
  $("upload").addEventListener("change", onUpload);
  $("new-session").addEventListener("click", () => newSession().catch((e) => showError(e.message)));
  $("model-choice").addEventListener("change", () => newSession().catch((e) => showError(e.message)));
  $("prompt").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); onGenerate(false); }
  });
  await loadModels();
  try {
    await newSession();
  } catch (error) {
    showError(error.message);
    setStatus("no session");
  }
}

document.addEventListener("DOMContentLoaded", start);
