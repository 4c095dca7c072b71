// spinecoach live coach page: one page, no build step, nothing fetched from the network
// beyond this server. Speaks the live protocol (docs/live-protocol.md) over /ws/live.
"use strict";

const $ = (id) => document.getElementById(id);
const STEP_NAMES = ["Choose technique", "Pain now", "Sensor check", "Calibration", "Guided sets",
  "Pain after", "Summary"];
const TRACE_WINDOW_S = 15;
const QUALITY_FLAG_IGNORED = "calibration not done";
const PROGRAM_PAGES = ["/onboarding", "/checkin", "/psfs", "/program", "/progress", "/day"];

const app = {
  techniques: [], technique: null, ws: null, frames: [], lastT: 0, band: null, reps: [],
  phase: null, breath: null, holdStartT: null, summary: null, sessionId: null, stage: "choose",
  firstFrameSeen: false, practiceEnd: null, source: "sim", camera: null,
};

// The sensors the person uses (remembered on this device): the simulator or live devices.
const SOURCE_KEY = "spinecoach.source";
try {
  const saved = localStorage.getItem(SOURCE_KEY);
  if (saved === "devices" || saved === "camera") $(`source-${saved}`).checked = true;
} catch { /* private mode */ }
for (const radio of document.querySelectorAll("input[name=source]")) {
  radio.addEventListener("change", () => {
    try { localStorage.setItem(SOURCE_KEY, radio.value); } catch { /* private mode */ }
  });
}
function chosenSource() {
  if ($("source-devices").checked) return "devices";
  return $("source-camera").checked ? "camera" : "sim";
}

function show(view) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== `view-${view}`;
  }
  app.stage = view;
  const section = $(`view-${view}`);
  const step = Number(section.dataset.step || 0);
  $("steps").textContent = step ? `Step ${step} of ${STEP_NAMES.length}: ${STEP_NAMES[step - 1]}` : "";
  const heading = section.querySelector("h1");
  if (heading) heading.focus();
}

function titleCase(text) { return text.charAt(0).toUpperCase() + text.slice(1); }

function doseText(dose) {
  const parts = [`${dose.sets} × ${dose.reps} reps`];
  if (dose.hold_s > 0) parts.push(`hold ${dose.hold_s} s`);
  return parts.join(", ");
}

// (a) technique cards ------------------------------------------------------------------
async function loadTechniques() {
  const response = await fetch("/api/techniques");
  app.techniques = (await response.json()).filter((t) => t.live);
  const list = $("technique-list");
  list.replaceChildren();
  for (const t of app.techniques) {
    // A list item holding a button: a button with role=listitem would lose its role and
    // its name for assistive technology.
    const item = document.createElement("div");
    item.setAttribute("role", "listitem");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "card";
    button.dataset.technique = t.name;
    button.innerHTML = "<strong></strong><span class='position'></span><span class='dose'></span>";
    button.querySelector("strong").textContent = t.title;
    button.querySelector(".position").textContent = `Position: ${t.position}`;
    button.querySelector(".dose").textContent = doseText(t.dose);
    button.addEventListener("click", () => chooseTechnique(t));
    item.appendChild(button);
    list.appendChild(item);
  }
  show("choose");
  // A desk-break prompt opens the coach on its technique (/?technique=cat-cow-seated).
  const wanted = new URLSearchParams(location.search).get("technique");
  const chosen = app.techniques.find((t) => t.name === wanted);
  if (chosen) chooseTechnique(chosen);
}

function chooseTechnique(t) {
  app.technique = t;
  $("session-title").textContent = t.title;
  show("pain-before");
}

// (b, f) VAS sliders ---------------------------------------------------------------------
for (const id of ["pain-before", "pain-after"]) {
  $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value; });
}

// (c) sensor check: start the simulated session and hold it paused until the person is ready
$("pain-before-next").addEventListener("click", () => {
  app.source = chosenSource();
  show("sensor");
  $("sim-check").hidden = app.source !== "sim";
  $("camera-check").hidden = app.source !== "camera";
  $("sensor-placement").hidden = app.source === "camera";
  if (app.source === "sim") {
    connect();
  } else if (app.source === "camera") {
    startCamera();
  } else {  // live devices: the session starts once the person is ready
    $("sensor-next").disabled = true;
    window.spinecoachDevices.start((ready) => { $("sensor-next").disabled = !ready; });
  }
});

// The camera: the session starts at once; its first step is getting into the picture.
async function startCamera() {
  $("sensor-next").disabled = true;
  let info = null;
  try {
    info = await (await fetch("/api/camera")).json();
  } catch (error) {
    $("camera-status").textContent = "The server did not answer; reload the page.";
    return;
  }
  const view = info.techniques[app.technique.name];
  $("camera-placement").textContent = view ? view.placement : "";
  if (!view || !view.coachable) {
    $("camera-status").textContent = "A camera cannot coach this technique. Go back and " +
      "choose another one, or your phone or Bluetooth sensors.";
    return;
  }
  if (!info.available) {
    $("camera-status").textContent = info.problem;
    return;
  }
  $("camera-status").textContent = `Opening ${info.source}…`;
  connect();
}

function onCamera(c) {
  app.camera = c;
  const fps = c.fps ? ` (${Math.round(c.fps)} images/s)` : "";
  let text = "Nobody in the picture yet";
  if (c.person) text = c.framed ? "You are in the picture — hold still" : "Almost: see below";
  $("camera-status").textContent = text + fps;
  const list = $("camera-messages");
  list.replaceChildren(...c.messages.map((m) => {
    const item = document.createElement("li");
    item.textContent = m;
    return item;
  }));
  if (app.stage === "sensor") $("sensor-next").disabled = !c.framed;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/live`);
  app.ws = ws;
  ws.addEventListener("message", (event) => handle(JSON.parse(event.data)));
  ws.addEventListener("close", () => {
    if (app.stage === "sensor") $("sensor-status").textContent = "Disconnected — reload the page.";
  });
}

function send(message) {
  if (app.ws && app.ws.readyState === WebSocket.OPEN) app.ws.send(JSON.stringify(message));
}

function startMessage() {
  const message = { type: "start", technique: app.technique.name, source: app.source,
    pain_before_mm: Number($("pain-before").value) };
  const reps = Number(new URLSearchParams(location.search).get("reps"));
  if (app.source === "sim" && Number.isInteger(reps) && reps >= 1 && reps <= 50) message.reps = reps;
  return message;
}

$("sensor-next").addEventListener("click", () => {
  show("calibration");
  if (app.source === "sim") {
    send({ type: "resume" });
  } else if (app.source === "camera") {
    $("calibration-instruction").textContent = "Get into position and hold still";
  } else {
    $("calibration-instruction").textContent = "Stand up straight and hold still";
    window.spinecoachDevices.follow();
    connect();
  }
});

// messages ---------------------------------------------------------------------------------
function handle(message) {
  switch (message.type) {
    case "hello": send(startMessage()); break;
    case "frame": onFrame(message); break;
    case "annotation": onAnnotation(message); break;
    case "cue": onCue(message); break;
    case "rep": app.reps.push(message.rep); $("practice").hidden = true; break;
    case "state": onState(message); break;
    case "camera": onCamera(message); break;
    case "summary": onSummary(message); break;
    case "error":
      $("cue").textContent = `${message.message}. ${message.fix}`;
      if (app.stage === "calibration") $("calibration-instruction").textContent = `${message.message}. ${message.fix}`;
      if (app.stage === "sensor" && app.source === "camera") $("camera-status").textContent = `${message.message}. ${message.fix}`;
      break;
    default: break;
  }
}

function mainValue(frame) {
  const value = frame.angles[app.technique.main_signal];
  return value === null || value === undefined ? null : value * app.technique.direction;
}

function onFrame(frame) {
  app.lastT = frame.t;
  app.frames.push({ t: frame.t, v: mainValue(frame) });
  if (!app.firstFrameSeen && app.source === "sim") {
    app.firstFrameSeen = true;
    send({ type: "pause" });
    $("sensor-status").textContent = "Built-in simulator connected";
    $("sensor-next").disabled = false;
  }
  const problems = frame.flags.filter((f) => f !== QUALITY_FLAG_IGNORED);
  $("signal-quality").textContent = problems.length ? `Poor: ${problems.join(", ")}` : "Good";
  if (app.stage === "calibration") updateCountdown();
  if (app.stage === "session") { updateGauge(); updateHold(); updatePacer(); drawTrace(); updatePractice(); }
}

const CALIBRATION_TEXT = {
  "calibration-functional": "Bend forward slowly three times",
  "calibration-neutral": "Get into position and hold still",
};

function onAnnotation(a) {
  if (a.kind === "breath-inhale" || a.kind === "breath-exhale") {
    app.breath = a;
    $("pacer-box").hidden = false;
    $("pacer-label").textContent = a.kind === "breath-inhale" ? "Breathe in" : "Breathe out";
  } else if (a.kind in CALIBRATION_TEXT) {
    app.phase = a;
    if (app.source === "camera" && app.stage === "sensor") show("calibration");
    $("calibration-instruction").textContent = CALIBRATION_TEXT[a.kind];
  } else if (a.kind === "calibration-rep") {
    app.practiceEnd = a.end_s;
    $("practice").hidden = false;
    if (app.stage === "calibration") show("session");
  }
}

function updateCountdown() {
  const phase = app.phase;
  $("calibration-countdown").textContent = phase && app.lastT <= phase.end_s
    ? `${Math.ceil(phase.end_s - app.lastT)} s` : "";
}

function updatePractice() {
  if (app.practiceEnd !== null && app.lastT > app.practiceEnd) $("practice").hidden = true;
}

function onCue(cue) {
  $("cue").textContent = cue.text;
  // Latency hook for bench/latency.py: ms from the triggering sample (cue.wall_ms, Unix
  // time) to the frame that paints the text, collected in window.spinecoachLatency.
  if (typeof cue.wall_ms === "number") {
    requestAnimationFrame(() => {
      (window.spinecoachLatency ??= []).push(Date.now() - cue.wall_ms);
    });
  }
  if (cue.key === "hold") app.holdStartT = cue.t;
  if (cue.key === "release" || cue.key === "start") app.holdStartT = null;
  speak(cue.text);
}

function speak(text) {
  if ($("mute").checked || !("speechSynthesis" in window)) return;
  try {
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  } catch (error) { /* speech is optional */ }
}

function onState(state) {
  $("rep-count").textContent = String(state.reps);
  $("set-count").textContent = String(state.set);
  app.band = state.target_band_deg;
  const userPaused = state.paused && state.paused_reason === "user";
  $("pause").disabled = userPaused;
  $("resume").disabled = !userPaused;
  // While the person gets into the picture the sensor check lists what to fix; once the
  // coaching has started, stepping out of the picture is an alert.
  if (state.paused_reason === "out-of-frame" && app.stage !== "sensor") showCameraAlert();
  else showSensorAlert(state.silent_sensors || []);
}

function showCameraAlert() {
  const fix = app.camera && app.camera.messages.length ? ` ${app.camera.messages[0]}` : "";
  $("sensor-alert").textContent = "The camera cannot see you." + fix +
    " The session is paused and goes on by itself when the camera sees you again.";
  $("sensor-alert").hidden = false;
}

function showSensorAlert(silent) {
  const alert = $("sensor-alert");
  if (!silent.length) {
    alert.hidden = true;
    alert.textContent = "";
    return;
  }
  if (silent.includes("camera")) {
    alert.textContent = "The camera stopped sending images. Check it is connected and not " +
      "used by another program. The session is paused and goes on when images come back.";
    alert.hidden = false;
    return;
  }
  const names = silent.map((p) => `${p} sensor`).join(" and ");
  const them = silent.length > 1 ? "they are" : "it is";
  alert.textContent = `The ${names} stopped sending. Check ${them} switched on, charged and ` +
    "close by. The session is paused and goes on by itself when data comes back.";
  alert.hidden = false;
}

// (e) live views -------------------------------------------------------------------------------
function gaugeMax() { return Math.max(20, app.band ? app.band[1] * 1.4 : 20); }
const GAUGE_MIN = -10;

function gaugePoint(value, radius) {
  const share = Math.min(1, Math.max(0, (value - GAUGE_MIN) / (gaugeMax() - GAUGE_MIN)));
  const angle = Math.PI * (1 - share);
  return [100 + radius * Math.cos(angle), 100 - radius * Math.sin(angle)];
}

function updateGauge() {
  const last = app.frames[app.frames.length - 1];
  const value = last ? last.v : null;
  $("gauge-value").textContent = value === null ? "–" : `${value.toFixed(0)}°`;
  const [x, y] = gaugePoint(value === null ? 0 : value, 72);
  $("gauge-needle").setAttribute("x2", x.toFixed(1));
  $("gauge-needle").setAttribute("y2", y.toFixed(1));
  if (app.band) {
    const [x1, y1] = gaugePoint(app.band[0], 80);
    const [x2, y2] = gaugePoint(app.band[1], 80);
    $("gauge-band").setAttribute("d", `M${x1.toFixed(1)} ${y1.toFixed(1)} A80 80 0 0 1 ${x2.toFixed(1)} ${y2.toFixed(1)}`);
  }
}

function updateHold() {
  const holdS = app.technique.dose.hold_s;
  if (app.holdStartT === null || !holdS) { $("hold-countdown").textContent = "–"; return; }
  const left = Math.max(0, holdS - (app.lastT - app.holdStartT));
  $("hold-countdown").textContent = `${Math.ceil(left)} s`;
}

function updatePacer() {
  const b = app.breath;
  if (!b) return;
  const span = Math.max(0.1, b.end_s - b.start_s);
  const progress = Math.min(1, Math.max(0, (app.lastT - b.start_s) / span));
  const scale = b.kind === "breath-inhale" ? 0.5 + 0.5 * progress : 1 - 0.5 * progress;
  $("pacer").style.transform = `scale(${scale.toFixed(3)})`;
}

function plot(canvas, points, t0, t1, spans) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const values = points.filter((p) => p.v !== null).map((p) => p.v);
  let lo = Math.min(-5, ...values), hi = Math.max(15, ...values);
  if (app.band) { lo = Math.min(lo, app.band[0]); hi = Math.max(hi, app.band[1]); }
  const x = (t) => ((t - t0) / Math.max(1e-6, t1 - t0)) * w;
  const y = (v) => h - 8 - ((v - lo) / (hi - lo)) * (h - 16);
  ctx.fillStyle = "rgba(11, 92, 173, 0.12)";
  for (const [a, b] of spans) ctx.fillRect(x(a), 0, Math.max(1, x(b) - x(a)), h);
  if (app.band) {
    ctx.fillStyle = "rgba(46, 125, 50, 0.18)";
    ctx.fillRect(0, y(app.band[1]), w, y(app.band[0]) - y(app.band[1]));
  }
  ctx.strokeStyle = "#0b5cad";
  ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;
  for (const p of points) {
    if (p.v === null || p.t < t0) { pen = false; continue; }
    if (pen) ctx.lineTo(x(p.t), y(p.v)); else ctx.moveTo(x(p.t), y(p.v));
    pen = true;
  }
  ctx.stroke();
}

function drawTrace() {
  const t1 = app.lastT, t0 = t1 - TRACE_WINDOW_S;
  let i = app.frames.length - 1;
  while (i > 0 && app.frames[i - 1].t >= t0) i -= 1;
  plot($("trace"), app.frames.slice(i), t0, t1, app.reps.map((r) => [r.start_s, r.end_s]));
}

$("pause").addEventListener("click", () => send({ type: "pause" }));
$("resume").addEventListener("click", () => send({ type: "resume" }));
$("stop").addEventListener("click", () => send({ type: "stop" }));

// (f, g) pain after and summary -----------------------------------------------------------------
function onSummary(message) {
  app.summary = message.result;
  showSensorAlert([]);
  if (window.spinecoachDevices) window.spinecoachDevices.stop();
  app.sessionId = message.session_id;
  if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  show("pain-after");
}

$("pain-after-next").addEventListener("click", async () => {
  let saved = app.sessionId !== null && app.sessionId !== undefined;
  if (saved) {
    const response = await fetch(`/api/sessions/${app.sessionId}/pain`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ vas_mm: Number($("pain-after").value), context: "after" }),
    });
    saved = response.ok;
  }
  renderSummary(saved);
  show("summary");
});

function mean(values) {
  const finite = values.filter((v) => typeof v === "number");
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
}

function renderSummary(saved) {
  const result = app.summary;
  $("saved").textContent = saved ? "Saved to your history" : "Not saved: the history is not available.";
  const holds = result.reps.map((r) => r.hold_s);
  const quality = mean(result.reps.map((r) => r.quality));
  const stats = [
    ["Reps", String(result.reps.length)],
    ["Sets", String(result.sets.length)],
    ["Mean hold", mean(holds) === null ? "–" : `${mean(holds).toFixed(1)} s`],
    ["Mean quality", quality === null ? "–" : `${quality.toFixed(0)} / 100`],
    ["Pain", `${$("pain-before").value} → ${$("pain-after").value} mm`],
  ];
  const list = $("summary-stats");
  list.replaceChildren();
  for (const [name, value] of stats) {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value;
    dd.id = `summary-${name.toLowerCase().replace(/\s+/g, "-")}`;
    list.append(dt, dd);
  }
  const body = $("summary-rep-table").querySelector("tbody");
  body.replaceChildren();
  for (const rep of result.reps) {
    const row = document.createElement("tr");
    for (const cell of [rep.index, rep.hold_s === null ? "–" : rep.hold_s.toFixed(1), rep.quality,
      rep.faults.length ? rep.faults.join(", ") : "none"]) {
      const td = document.createElement("td"); td.textContent = String(cell); row.appendChild(td);
    }
    body.appendChild(row);
  }
  const t0 = app.frames.length ? app.frames[0].t : 0;
  plot($("summary-plot"), app.frames, t0, app.lastT, result.reps.map((r) => [r.start_s, r.end_s]));
}

// History ---------------------------------------------------------------------------------------
function qualityBars(reps) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${Math.max(1, reps.length) * 12} 40`);
  svg.setAttribute("width", String(Math.min(240, Math.max(12, reps.length * 12))));
  svg.setAttribute("height", "40");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Quality of each rep");
  reps.forEach((rep, i) => {
    const bar = document.createElementNS(ns, "rect");
    const height = Math.max(2, (rep.quality / 100) * 38);
    bar.setAttribute("x", String(i * 12 + 2)); bar.setAttribute("width", "8");
    bar.setAttribute("y", String(40 - height)); bar.setAttribute("height", String(height));
    bar.setAttribute("fill", "#0b5cad");
    svg.appendChild(bar);
  });
  return svg;
}

async function loadHistory() {
  show("history");
  const [sessions, techniques] = await Promise.all([
    fetch("/api/sessions").then((r) => r.json()), fetch("/api/techniques").then((r) => r.json())]);
  const titles = Object.fromEntries(techniques.map((t) => [t.name, t.title]));
  const list = $("history-list");
  list.replaceChildren();
  $("history-empty").hidden = sessions.length > 0;
  for (const s of sessions) list.appendChild(historyItem(s, titles[s.technique] || s.technique));
}

function faultText(reps) {
  const counts = new Map();
  for (const rep of reps) for (const name of rep.faults) counts.set(name, (counts.get(name) || 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (!total) return "none";
  const names = [...counts].map(([name, n]) => `${name.replaceAll("_", " ")}${n > 1 ? ` ×${n}` : ""}`);
  return `${total} (${names.join(", ")})`;
}

function painText(s) {
  if (s.pain_before_mm === null && s.pain_after_mm === null) return "not rated";
  return `${s.pain_before_mm ?? "–"} → ${s.pain_after_mm ?? "–"} mm`;
}

// One past session: heading, date and status, its numbers, the quality bars and its plot
// (a PNG drawn by the server from the stored recording, loaded only when scrolled near).
// How each source is named in the history (sessions are marked with their source).
const SOURCE_NAMES = { sim: "Simulator", external: "Streamed sensors", devices: "Own sensors",
  camera: "Camera" };

function historyItem(s, title) {
  const item = document.createElement("li");
  item.className = "history-item";
  const headingId = `session-${s.id}-title`;
  item.setAttribute("aria-labelledby", headingId);
  const started = new Date(s.started_utc);
  const when = started.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  const head = document.createElement("h2");
  head.id = headingId;
  head.textContent = title;
  const meta = document.createElement("p");
  meta.className = "history-meta";
  const time = document.createElement("time");
  time.dateTime = s.started_utc;
  time.textContent = when;
  const status = document.createElement("span");
  const said = window.spinecoachToday ? window.spinecoachToday.sessionStatus(s) : null;  // today.js
  status.className = `status-${said ? said.key : s.status}`;
  status.textContent = said ? said.text : s.status === "completed" && s.summary.interrupted
    ? "Completed after an interruption" : titleCase(s.status);
  meta.append(time, " · ", status, " · ", SOURCE_NAMES[s.source] || s.source || "");
  const quality = mean(s.reps.map((r) => r.quality));
  const stats = document.createElement("dl");
  stats.className = "stats history-stats";
  for (const [term, value] of [
    ["Reps", `${s.summary.reps ?? s.reps.length} reps in `
      + `${s.summary.sets ?? Math.max(0, ...s.reps.map((r) => r.set))} set(s)`],
    ["Mean quality", quality === null ? "–" : `${quality.toFixed(0)} / 100`],
    ["Faults", faultText(s.reps)],
    ["Pain before → after", painText(s)],
  ]) {
    const dt = document.createElement("dt"); dt.textContent = term;
    const dd = document.createElement("dd"); dd.textContent = value;
    stats.append(dt, dd);
  }
  item.append(head, meta, stats);
  if (s.status === "interrupted") item.appendChild(interruptedNote(s, title));
  if (s.reps.length) item.appendChild(qualityBars(s.reps));
  if (s.status === "completed") item.appendChild(historyPlot(s, title, when));
  return item;
}

// A session whose server stopped: what was kept, and a button that closes it with its
// summary (the server replays the stored samples through the same engine).
function interruptedNote(s, title) {
  const box = document.createElement("div");
  box.className = "interrupted";
  const note = document.createElement("p");
  const kept = s.recorded_until_s === null ? "" : ` up to ${Math.floor(s.recorded_until_s)} s`;
  note.textContent = `The coach stopped during this session. Everything recorded${kept} was ` +
    `kept (${s.reps.length} rep${s.reps.length === 1 ? "" : "s"} so far).`;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  button.textContent = "Close with summary";
  button.setAttribute("aria-label", `Close the interrupted ${title} session with its summary`);
  const result = document.createElement("p");
  result.setAttribute("aria-live", "polite");
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.textContent = "Working out the summary…";
    const response = await fetch(`/api/sessions/${s.id}/close`, { method: "POST" });
    if (response.ok) { await loadHistory(); return; }
    const body = await response.json().catch(() => ({}));
    result.textContent = `Could not close it: ${body.detail || response.statusText}`;
    button.disabled = false;
  });
  box.append(note, button, result);
  return box;
}

function historyPlot(s, title, when) {
  const src = `/api/sessions/${s.id}/plot.png`;
  const figure = document.createElement("figure");
  figure.className = "history-plot";
  const link = document.createElement("a");
  link.href = src;
  link.target = "_blank";
  link.rel = "noopener";
  const img = document.createElement("img");
  img.loading = "lazy";
  img.decoding = "async";
  img.width = 792; img.height = 440;  // the PNG's size (web/plots.py), so the page does not jump
  img.src = src;
  img.alt = `${title}, ${when}: the movement angle over time, each rep shaded, holds marked `
    + "in red and faults named at their rep";
  const caption = document.createElement("figcaption");
  caption.textContent = "Angle over time with reps, holds and faults. Opens full size.";
  img.addEventListener("error", () => {
    caption.textContent = "No plot: this session has no stored recording.";
    link.replaceWith(caption);
  });
  link.appendChild(img);
  figure.append(link, caption);
  return figure;
}

if (location.pathname === "/history") loadHistory();
else if (!PROGRAM_PAGES.includes(location.pathname)) loadTechniques();  // program.js owns those
