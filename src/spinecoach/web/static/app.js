// spinecoach live coach page: one page, no build step, nothing fetched from the network
// beyond this server. Speaks the live protocol (docs/live-protocol.md) over /ws/live.
// The view during the sets (gauge, hold ring, trace, mat mode) is static/live.js.
"use strict";

const $ = (id) => document.getElementById(id);
const live = window.spinecoachLive;
const STEP_NAMES = ["Choose technique", "Pain now", "Sensor check", "Calibration", "Guided sets",
  "Pain after", "Summary"];
const QUALITY_FLAG_IGNORED = "calibration not done";

const app = {
  techniques: [], technique: null, ws: null, phase: null, summary: null, sessionId: null,
  stage: "choose", firstFrameSeen: false, practiceEnd: null, source: "sim", camera: null,
  prescribed: null, summaryAdvice: null,
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
  live.setMat(view === "session");
  if (view === "calibration" || view === "session") live.sessionRunning(true);  // screen on
  if (view === "calibration") mountCalibrationDemo();  // the demonstration before the first set
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

// A demonstration slot: static/demo.js fills it (spinecoachDemo.mount), if it is there;
// `folded` keeps its steps under a "Step by step" switch (the list of cards).
function demoSlot(technique, folded = false) {
  const slot = document.createElement("div");
  slot.className = "demo";
  slot.dataset.technique = technique;
  if (folded) slot.dataset.steps = "folded";
  const demo = window.spinecoachDemo;
  if (demo && typeof demo.mount === "function") {
    try { demo.mount(slot, technique); } catch (error) { console.warn("demo", error); }
  }
  return slot;
}

// (a) technique cards ------------------------------------------------------------------
let techniquesLoaded = null;

async function loadTechniques() {
  const response = await fetch("/api/techniques");
  app.techniques = (await response.json()).filter((t) => t.live);
  const list = $("technique-list");
  list.replaceChildren();
  for (const t of app.techniques) {
    // A list item holding a button: a button with role=listitem would lose its role and
    // its name for assistive technology. The demonstration sits next to the button.
    const item = document.createElement("div");
    item.setAttribute("role", "listitem");
    item.className = "card-item";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "card";
    button.dataset.technique = t.name;
    button.innerHTML = "<strong></strong><span class='position'></span><span class='dose'></span>";
    button.querySelector("strong").textContent = t.title;
    button.querySelector(".position").textContent = t.position_label || t.position;  // plain words
    button.querySelector(".dose").textContent = doseText(t.dose);
    button.addEventListener("click", () => chooseTechnique(t));
    item.append(button, demoSlot(t.name, true));  // a list of cards: the steps folded
    list.appendChild(item);
  }
  show("choose");
  // A desk-break prompt opens the coach on its technique (/?technique=cat-cow-seated).
  const wanted = new URLSearchParams(location.search).get("technique");
  const chosen = app.techniques.find((t) => t.name === wanted);
  if (chosen) chooseTechnique(chosen);
}

function chooseTechnique(t, prescribed = null) {
  app.technique = t;
  app.prescribed = prescribed;
  $("session-title").textContent = t.title;
  const dose = prescribed && prescribed.dose;
  $("prescribed-dose").hidden = !dose;
  $("prescribed-dose").textContent = dose ? `Today's dose: ${doseText(dose)}` : "";
  resetPain("pain-before");
  $("recalibrate").checked = false;
  $("recalibrate-choice").hidden = chosenSource() === "camera";  // sensors only
  show("pain-before");
}

/** Start a prescribed session (called by static/today.js): choose `technique` (its name)
 * and go on to the pain question; `dose` ({reps, sets, hold_s, tempo_s}) and `slot`
 * ("morning", "main", "deskbreak" or null) go into the `start` message. */
async function startPrescribed({ technique, dose = null, slot = null }) {
  if (techniquesLoaded) await techniquesLoaded;
  const t = app.techniques.find((x) => x.name === technique);
  if (!t) throw new Error(`startPrescribed: no live technique named ${technique}`);
  chooseTechnique(t, { dose, slot });
}
window.spinecoach = Object.assign(window.spinecoach || {}, { startPrescribed });

// (b, f) VAS sliders: no value until the person sets one ------------------------------------
// An untouched slider shows "not answered" and is sent as missing (null), never as 0.
const painAnswered = { "pain-before": false, "pain-after": false };
const SLIDER_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End",
  "PageUp", "PageDown"]);

function showPain(id) {
  const slider = $(id), answered = painAnswered[id];
  slider.classList.toggle("unanswered", !answered);
  $(`${id}-value`).textContent = answered ? slider.value : "not answered";
  $(`${id}-value`).parentElement.querySelector(".vas-unit").hidden = !answered;
  if (answered) slider.removeAttribute("aria-valuetext");
  else slider.setAttribute("aria-valuetext", "not answered");
}
function answerPain(id) { painAnswered[id] = true; showPain(id); }
function resetPain(id) { painAnswered[id] = false; $(id).value = "0"; showPain(id); }
function painValue(id) { return painAnswered[id] ? Number($(id).value) : null; }

for (const id of ["pain-before", "pain-after"]) {
  const slider = $(id);
  slider.addEventListener("input", () => answerPain(id));
  slider.addEventListener("change", () => answerPain(id));
  // Setting the value it already has (a tap on the thumb, Home at 0) answers too.
  slider.addEventListener("pointerup", () => answerPain(id));
  slider.addEventListener("keyup", (event) => { if (SLIDER_KEYS.has(event.key)) answerPain(id); });
  showPain(id);
}

// Back, before the session has started: to the previous step.
$("pain-before-back").addEventListener("click", () => show("choose"));
$("sensor-back").addEventListener("click", () => {
  endConnection();
  if (window.spinecoachDevices) window.spinecoachDevices.stop();
  show("pain-before");
});

// (c) sensor check: start the simulated session and hold it paused until the person is ready
$("pain-before-next").addEventListener("click", () => {
  app.source = chosenSource();
  app.firstFrameSeen = false;
  app.practiceEnd = null;
  app.phase = null;
  app.summary = null;
  app.sessionId = null;
  live.reset(app.technique, app.prescribed && app.prescribed.dose);
  $("sensor-next").disabled = true;
  $("sensor-status").textContent = "Connecting…";
  $("signal-quality").textContent = "waiting for data";
  show("sensor");
  $("sim-check").hidden = app.source !== "sim";
  $("device-check").hidden = app.source !== "devices";
  $("camera-check").hidden = app.source !== "camera";
  $("sensor-placement").hidden = app.source === "camera";
  if (app.source === "sim") {
    connect();
  } else if (app.source === "camera") {
    startCamera();
  } else {  // live devices: the session starts once the person is ready
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
  onBehind({ behind_s: 0 });  // a new connection starts caught up
  ws.addEventListener("message", (event) => { if (app.ws === ws) handle(JSON.parse(event.data)); });
  ws.addEventListener("close", () => {
    if (app.ws === ws && app.stage === "sensor") {
      $("sensor-status").textContent = "Disconnected — reload the page.";
    }
  });
}

// Leave the session before it started (Back) or after a refusal: nothing more from it.
function endConnection() {
  const ws = app.ws;
  app.ws = null;
  live.sessionRunning(false);
  if (ws) ws.close();
}

function send(message) {
  if (app.ws && app.ws.readyState === WebSocket.OPEN) app.ws.send(JSON.stringify(message));
}

function startMessage() {
  const message = { type: "start", technique: app.technique.name, source: app.source,
    pain_before_mm: painValue("pain-before") };
  const query = new URLSearchParams(location.search);  // the simulator's try-out options
  const reps = Number(query.get("reps")), seed = Number(query.get("seed") ?? NaN);
  if (app.source === "sim" && Number.isInteger(reps) && reps >= 1 && reps <= 50) message.reps = reps;
  if (app.source === "sim" && Number.isInteger(seed) && seed >= 0) message.seed = seed;
  if ($("recalibrate").checked && app.source !== "camera") message.recalibrate = true;
  if (app.prescribed) {
    if (app.prescribed.dose) message.dose = app.prescribed.dose;
    if (app.prescribed.slot) message.slot = app.prescribed.slot;
  }
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

// The demonstration before the first set, next to the calibration's instructions.
function mountCalibrationDemo() {
  const box = $("calibration-demo");
  if (box.firstElementChild && box.firstElementChild.dataset.technique === app.technique.name) return;
  box.replaceChildren(demoSlot(app.technique.name));
}

// messages ---------------------------------------------------------------------------------
function handle(message) {
  switch (message.type) {
    case "hello": send(startMessage()); break;
    case "frame": onFrame(message); break;
    case "annotation": onAnnotation(message); break;
    case "cue": onCue(message); break;
    case "rep": live.onRep(message); $("practice").hidden = true; break;
    case "state": onState(message); break;
    case "camera": onCamera(message); break;
    case "summary": onSummary(message); break;
    case "error": onError(message); break;
    case "calibration-check": onCalibrationCheck(message); break;
    case "behind": onBehind(message); break;
    default: break;
  }
}

// The server stores every sample as it comes and coaches behind when it is busy: say so
// while it catches up (nothing recorded is lost), and take the note away once it has.
function onBehind(message) {
  const note = $("behind-note");
  const late = typeof message.behind_s === "number" ? message.behind_s : 0;
  note.hidden = late <= 0;
  note.textContent = late > 0
    ? `The coach is ${late.toFixed(1)} s behind your movement and is catching up. Everything your sensors send is saved.`
    : "";
}

function onError(message) {
  if (message.code === "program-stopped") { refuse(message); return; }
  $("cue").textContent = `${message.message}. ${message.fix}`;
  if (app.stage === "calibration") $("calibration-instruction").textContent = `${message.message}. ${message.fix}`;
  if (app.stage === "sensor" && app.source === "camera") $("camera-status").textContent = `${message.message}. ${message.fix}`;
}

// The server refused to start: the program is stopped (a red flag or a pain jump). Say
// why and what to do, kindly, and start nothing.
function refuse(message) {
  endConnection();
  if (window.spinecoachDevices) window.spinecoachDevices.stop();
  $("refused-cause").textContent = sentence(message.message);
  $("refused-fix").textContent = sentence(message.fix);
  show("refused");
}

const sentence = live.sentence;

function onFrame(frame) {
  live.onFrame(frame);
  if (!app.firstFrameSeen && app.source === "sim") {
    app.firstFrameSeen = true;
    send({ type: "pause" });
    $("sensor-status").textContent = "Built-in simulator connected";
    $("sensor-next").disabled = false;
  }
  const problems = frame.flags.filter((f) => f !== QUALITY_FLAG_IGNORED);
  $("signal-quality").textContent = problems.length ? `Poor: ${problems.join(", ")}` : "Good";
  if (app.stage === "calibration") updateCountdown();
  if (app.stage === "session") { live.draw(); updatePractice(); }
}

const CALIBRATION_TEXT = {
  "calibration-check": "Get into your start position and hold still for 5 seconds",
  "calibration-functional": "Bend forward slowly three times",
  "calibration-neutral": "Get into position and hold still",
};

// The 5-s neutral check of a kept calibration: passed, the sets follow at once (no bends,
// no practice rep); failed, the whole calibration follows (its annotations lead it).
function onCalibrationCheck(check) {
  $("calibration-instruction").textContent = check.message;
  $("cue").textContent = check.message;
  speak(check.message);  // a cue shown is a cue spoken (unless muted)
  if (check.passed && app.stage === "calibration") show("session");
}

function onAnnotation(a) {
  if (a.kind === "breath-inhale" || a.kind === "breath-exhale") {
    live.onBreath(a);
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
  $("calibration-countdown").textContent = phase && live.lastT() <= phase.end_s
    ? `${Math.ceil(phase.end_s - live.lastT())} s` : "";
}

function updatePractice() {
  if (app.practiceEnd !== null && live.lastT() > app.practiceEnd) $("practice").hidden = true;
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
  live.onCue(cue);
  speak(cue.text);
}

const speak = live.speak;

function onState(state) {
  live.onState(state);
  const userPaused = state.paused && state.paused_reason === "user";
  $("pause").disabled = userPaused;
  $("resume").disabled = !userPaused;
  // While the person gets into the picture the sensor check lists what to fix; once the
  // coaching has started, stepping out of the picture is an alert.
  if (state.paused_reason === "out-of-frame" && app.stage !== "sensor") live.showCameraAlert(app.camera);
  else live.showSensorAlert(state.silent_sensors || []);
}

$("pause").addEventListener("click", () => send({ type: "pause" }));
$("resume").addEventListener("click", () => send({ type: "resume" }));
$("stop").addEventListener("click", () => send({ type: "stop" }));

// (f, g) pain after and summary -----------------------------------------------------------------
function onSummary(message) {
  app.summary = message.result;
  app.summaryAdvice = message.advice || (message.result && message.result.advice) || null;
  live.showSensorAlert([]);
  live.sessionRunning(false);
  if (window.spinecoachDevices) window.spinecoachDevices.stop();
  app.sessionId = message.session_id;
  if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  resetPain("pain-after");
  show("pain-after");
}

async function finishPainAfter(skipped) {
  const after = skipped ? null : painValue("pain-after");
  let saved = app.sessionId !== null && app.sessionId !== undefined;
  let advice = app.summaryAdvice;
  if (saved && after !== null) {
    const response = await fetch(`/api/sessions/${app.sessionId}/pain`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ vas_mm: after, context: "after" }),
    });
    saved = response.ok;
    const body = await response.json().catch(() => null);
    if (body && body.advice) advice = body.advice;
  }
  live.renderSummary({ result: app.summary, saved, advice, painBefore: painValue("pain-before"),
    painAfter: after });
  show("summary");
}
$("pain-after-next").addEventListener("click", () => finishPainAfter(false));
$("pain-after-skip").addEventListener("click", () => finishPainAfter(true));

function mean(values) {
  const finite = values.filter((v) => typeof v === "number");
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
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
  app.faultLabels = Object.fromEntries(techniques.map((t) => [t.name,
    Object.fromEntries((t.faults || []).map((f) => [f.id, f.label]))]));
  const list = $("history-list");
  list.replaceChildren();
  $("history-empty").hidden = sessions.length > 0;
  for (const s of sessions) list.appendChild(historyItem(s, titles[s.technique] || s.technique));
}

function faultText(reps, technique) {
  const labels = (app.faultLabels && app.faultLabels[technique]) || {};  // plain words
  const counts = new Map();
  for (const rep of reps) for (const name of rep.faults) counts.set(name, (counts.get(name) || 0) + 1);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (!total) return "none";
  const names = [...counts].map(([name, n]) =>
    `${labels[name] || name.replaceAll("_", " ")}${n > 1 ? ` ×${n}` : ""}`);
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
    ["Faults", faultText(s.reps, s.technique)],
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

// A link or image of the API: with ?person=ID when a clinician reads a person (auth.js).
function personal(path) {
  return window.spinecoachAuth ? window.spinecoachAuth.withPerson(path) : path;
}

function historyPlot(s, title, when) {
  // In the person's own time zone (the plot's title gives the session's start).
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const src = personal(`/api/sessions/${s.id}/plot.png?tz=${encodeURIComponent(zone)}`);
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
  // A phone gets the narrow variant (396 × 440 px, labels legible at its width).
  const picture = document.createElement("picture");
  const narrow = document.createElement("source");
  narrow.media = "(max-width: 600px)";
  narrow.srcset = `${src}&narrow=true`;
  narrow.width = 396; narrow.height = 440;
  picture.append(narrow, img);
  link.appendChild(picture);
  figure.append(link, caption);
  return figure;
}

if (location.pathname === "/history") loadHistory();
// The coach's own page is the home page; the others belong to program.js, progress.js and
// day.js (a list of pages here once missed /screening, whose view the home view then
// replaced when the techniques arrived late).
else if (location.pathname === "/") techniquesLoaded = loadTechniques();
