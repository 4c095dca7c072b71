// spinecoach live screen: the view during the sets ("mat mode", issue 15 item 7).
// A full-screen, high-contrast view readable from a mat 2 m away: the gauge and its target
// band are the largest element, "rep 6 of 10" and "set 1 of 3" from the server's targets,
// a hold ring filled with the measured hold, the cue in large type and a paused state
// nobody can miss. The screen is kept awake while a session runs.
//
// Design choices:
// - One quantity from gauge to score: the needle, the number, the band, the trace and the
//   hold ring all use the server's `frame.gauge_deg` and `state.gauge.band_deg`
//   (docs/live-protocol.md). A server without them (older builds) gets today's behaviour:
//   the technique's main signal times its direction and `state.target_band_deg`.
// - Holds are measurements, never a timer: the ring fills with `frame.hold.held_s /
//   target_s` and empties when the angle leaves the band. Without `frame.hold` the page
//   measures the same thing itself (time inside the band since the hold cue).
// - Hold and breath measures are shown only where they apply (`state.targets.hold_s`,
//   `state.measures`).
// - The gauge keeps its SVG geometry (arc of radius 80 about (100, 100) in a 200 × 132
//   view box); mat mode only scales it with CSS, so what the tests measure stays put.
"use strict";

const spinecoachLive = (() => {
  const $ = (id) => document.getElementById(id);
  const TRACE_WINDOW_S = 15;
  const GAUGE_MIN_DEG = -10;
  const GAUGE_MAX_DEG = 20;
  const RING_LENGTH = 2 * Math.PI * 52;  // the hold ring's circumference (r = 52)
  const SIGNAL_LABELS = { pelvic_tilt_deg: "Pelvic tilt", lumbar_flexion_deg: "Low-back bend" };
  const PAUSE_TEXT = {
    user: "Paused — press Resume",
    "sensor-silent": "Paused — waiting for the sensors",
    "out-of-frame": "Paused — the camera cannot see you",
  };

  const s = {
    technique: null, gaugeInfo: null, band: null, bands: [], targets: null, measures: [], frames: [],
    lastT: 0, reps: [], set: 0, breath: null, holdCue: false, ownHoldStartT: null,
    wasInside: false, paused: false, wakeLock: null, running: false,
  };

  /** Start over for a new session of technique `t` with the dose the page asked for. */
  function reset(t, dose) {
    Object.assign(s, {
      technique: t, gaugeInfo: null, band: null, bands: [], frames: [], lastT: 0, reps: [], set: 0,
      breath: null, holdCue: false, ownHoldStartT: null, wasInside: false, paused: false,
    });
    const d = dose || t.dose;
    // The simulator's rep count asked in the address (?reps=3) until the server says.
    const asked = Number(new URLSearchParams(location.search).get("reps"));
    s.askedReps = !dose && Number.isInteger(asked) && asked >= 1 ? asked : null;
    const reps = s.askedReps ?? d.reps;
    s.targets = { reps: reps ?? null, sets: d.sets ?? null,
      hold_s: d.hold_s > 0 ? d.hold_s : null };
    s.measures = s.targets.hold_s !== null ? ["hold"]
      : (t.name.startsWith("cat-cow") ? ["breath"] : []);
    $("gauge-label").textContent = SIGNAL_LABELS[t.main_signal] || "Angle";
    $("gauge-band").setAttribute("d", "");
    $("gauge-band-other").setAttribute("d", "");
    $("breath-share").textContent = "–";
    $("breath-lag").textContent = "–";
    $("pacer-box").hidden = true;
    showPaused(false, null);
    renderCounters();
    renderHold(null);
  }

  // state ---------------------------------------------------------------------------------
  function onState(state) {
    if (state.gauge) {
      s.gaugeInfo = state.gauge;
      s.band = state.gauge.band_deg || null;
      // Every band, ascending (cat-cow: the cow end and the cat end); band_deg is one of them.
      const bands = state.gauge.bands_deg || [];
      s.bands = bands.length ? bands : (s.band ? [s.band] : []);
      if (state.gauge.label) $("gauge-label").textContent = state.gauge.label;
    } else {
      s.band = state.target_band_deg || null;
      s.bands = s.band ? [s.band] : [];
    }
    if (state.targets) s.targets = { ...state.targets, reps: s.askedReps ?? state.targets.reps };
    if (Array.isArray(state.measures)) s.measures = state.measures;
    if (state.set > s.set) s.set = state.set;
    renderCounters();
    showPaused(state.paused, state.paused_reason);
  }

  function repsInSet() {
    return s.reps.filter((r) => r.set === s.set).length;
  }

  function renderCounters() {
    const t = s.targets || {};
    $("rep-count").textContent = String(repsInSet());
    $("rep-target").textContent = t.reps ? ` of ${t.reps}` : "";
    $("set-count").textContent = String(Math.max(1, s.set));
    $("set-target").textContent = t.sets ? ` of ${t.sets}` : "";
    $("hold-box").hidden = t.hold_s === null || t.hold_s === undefined;
    $("hold-target").textContent = t.hold_s ? `for ${formatSeconds(t.hold_s)}` : "";
    $("breath-box").hidden = !s.measures.includes("breath");
  }

  function showPaused(paused, reason) {
    s.paused = Boolean(paused);
    $("paused-banner").hidden = !s.paused;
    $("paused-banner").textContent = s.paused ? (PAUSE_TEXT[reason] || "Paused") : "";
    $("view-session").classList.toggle("is-paused", s.paused);
  }

  // frames --------------------------------------------------------------------------------
  function gaugeValue(frame) {
    if ("gauge_deg" in frame) return frame.gauge_deg;
    const t = s.technique;
    const value = frame.angles[t.main_signal];
    return value === null || value === undefined ? null : value * t.direction;
  }

  /** Keep the frame; returns its gauge value (deg or null). */
  function onFrame(frame) {
    s.lastT = frame.t;
    const value = gaugeValue(frame);
    s.frames.push({ t: frame.t, v: value });
    s.lastHold = holdNow(frame, value);
    return value;
  }

  function draw() {
    const last = s.frames[s.frames.length - 1];
    updateGauge(last ? last.v : null);
    renderHold(s.lastHold);
    updatePacer();
    drawTrace();
  }

  // A band is reached at or past its start, as the score counts it (further than one's own
  // range is not a miss): a band on the negative side (cat-cow's cow end) from its upper end
  // down, any other from its lower end up.
  function reached(value, band) {
    if (value === null || !band) return false;
    return band[1] <= 0 && band[0] < 0 ? value <= band[1] : value >= band[0];
  }
  function inBand(value) { return s.bands.some((band) => reached(value, band)); }

  // The hold now: the server's measurement, or the same measured here (older servers):
  // time inside the band since the hold cue, restarting when the angle leaves it.
  function holdNow(frame, value) {
    if ("hold" in frame) return frame.hold;
    const target = s.targets && s.targets.hold_s;
    if (!target || !s.holdCue || s.band === null || value === null) {
      s.ownHoldStartT = null;
      return null;
    }
    const inside = reached(value, s.band);
    if (!inside) s.ownHoldStartT = null;
    else if (s.ownHoldStartT === null) s.ownHoldStartT = frame.t;
    return { inside, held_s: inside ? frame.t - s.ownHoldStartT : 0, target_s: target };
  }

  // The hold's words are a live region: changed only when they change (not every frame).
  function setNote(text) {
    const note = $("hold-note");
    if (note.textContent !== text) note.textContent = text;
  }

  function renderHold(hold) {
    const ring = $("hold-ring-fill");
    if (!hold) {
      s.wasInside = false;
      $("hold-countdown").textContent = "–";
      setNote("");
      ring.style.strokeDashoffset = String(RING_LENGTH);
      $("hold-box").classList.remove("held");
      return;
    }
    const share = hold.inside ? Math.min(1, hold.held_s / Math.max(0.1, hold.target_s)) : 0;
    ring.style.strokeDashoffset = String(RING_LENGTH * (1 - share));
    $("hold-box").classList.toggle("held", share >= 1);
    if (hold.inside) {
      s.wasInside = true;
      $("hold-countdown").textContent = formatSeconds(hold.held_s);
      setNote(share >= 1 ? "Held" : "In the band: hold");
    } else {
      $("hold-countdown").textContent = "–";
      setNote(s.wasInside ? "Back into the band" : "Move into the band");
    }
  }

  function onCue(cue) {
    if (cue.key === "hold") s.holdCue = true;
    if (cue.key === "release" || cue.key === "start") s.holdCue = false;
  }

  function onRep(message) {
    const rep = message.rep;
    s.reps.push(rep);
    if (rep.set > s.set) s.set = rep.set;
    renderCounters();
    const share = rep.in_phase_share ?? message.in_phase_share;
    const lag = rep.lag_s ?? message.lag_s;
    if (typeof share === "number") $("breath-share").textContent = formatShare(share);
    if (typeof lag === "number") $("breath-lag").textContent = formatSeconds(lag);
  }

  function onBreath(annotation) {
    s.breath = annotation;
    $("pacer-box").hidden = false;
    $("pacer-label").textContent = annotation.kind === "breath-inhale" ? "Breathe in" : "Breathe out";
  }

  // the gauge -----------------------------------------------------------------------------
  // The scale: -10° to 20° at least, widened to hold the band with room past both ends.
  function scale() {
    const ends = s.bands.flat();
    const lo = Math.min(GAUGE_MIN_DEG, ...ends.map((v) => v * 1.4));
    const hi = Math.max(GAUGE_MAX_DEG, ...ends.map((v) => v * 1.4));
    return [lo, hi];
  }

  function arc(band) {
    const [x1, y1] = gaugePoint(band[0], 80);
    const [x2, y2] = gaugePoint(band[1], 80);
    return `M${x1.toFixed(1)} ${y1.toFixed(1)} A80 80 0 0 1 ${x2.toFixed(1)} ${y2.toFixed(1)}`;
  }

  function gaugePoint(value, radius) {
    const [lo, hi] = scale();
    const share = Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
    const angle = Math.PI * (1 - share);
    return [100 + radius * Math.cos(angle), 100 - radius * Math.sin(angle)];
  }

  function updateGauge(value) {
    $("gauge-value").textContent = value === null ? "–" : formatDegrees(value);
    const [x, y] = gaugePoint(value === null ? 0 : value, 72);
    $("gauge-needle").setAttribute("x2", x.toFixed(1));
    $("gauge-needle").setAttribute("y2", y.toFixed(1));
    $("gauge").classList.toggle("in-band", inBand(value));
    // #gauge-band: the working band (band_deg); #gauge-band-other: cat-cow's other end.
    if (s.band) $("gauge-band").setAttribute("d", arc(s.band));
    const other = s.bands.find((b) => !s.band || b[0] !== s.band[0] || b[1] !== s.band[1]);
    $("gauge-band-other").setAttribute("d", other ? arc(other) : "");
  }

  function updatePacer() {
    const b = s.breath;
    if (!b) return;
    const span = Math.max(0.1, b.end_s - b.start_s);
    const progress = Math.min(1, Math.max(0, (s.lastT - b.start_s) / span));
    const size = b.kind === "breath-inhale" ? 0.5 + 0.5 * progress : 1 - 0.5 * progress;
    $("pacer").style.transform = `scale(${size.toFixed(3)})`;
  }

  // the trace -----------------------------------------------------------------------------
  /** Draw `points` ({t, v}) from t0 to t1 s on `canvas`, the band shaded green and each
   * span [start_s, end_s] (the reps) shaded blue. */
  function plot(canvas, points, t0, t1, spans, bands = s.bands) {
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const values = points.filter((p) => p.v !== null).map((p) => p.v);
    let lo = Math.min(-5, ...values), hi = Math.max(15, ...values);
    for (const band of bands) { lo = Math.min(lo, band[0]); hi = Math.max(hi, band[1]); }
    const x = (t) => ((t - t0) / Math.max(1e-6, t1 - t0)) * w;
    const y = (v) => h - 8 - ((v - lo) / (hi - lo)) * (h - 16);
    ctx.fillStyle = "rgba(11, 92, 173, 0.12)";
    for (const [a, b] of spans) ctx.fillRect(x(a), 0, Math.max(1, x(b) - x(a)), h);
    ctx.fillStyle = "rgba(46, 125, 50, 0.28)";
    for (const band of bands) ctx.fillRect(0, y(band[1]), w, y(band[0]) - y(band[1]));
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
    const t1 = s.lastT, t0 = t1 - TRACE_WINDOW_S;
    let i = s.frames.length - 1;
    while (i > 0 && s.frames[i - 1].t >= t0) i -= 1;
    plot($("trace"), s.frames.slice(i), t0, t1, s.reps.map((r) => [r.start_s, r.end_s]));
  }

  // mat mode and the wake lock ------------------------------------------------------------
  /** The sets view takes the whole screen while `on`. */
  function setMat(on) {
    document.body.classList.toggle("mat", on);
  }

  async function keepAwake() {
    if (!s.running || s.wakeLock || s.asking || !("wakeLock" in navigator)) return;
    if (document.visibilityState !== "visible") return;
    s.asking = true;
    try {
      const lock = await navigator.wakeLock.request("screen");
      lock.addEventListener("release", () => { if (s.wakeLock === lock) s.wakeLock = null; });
      if (s.running) s.wakeLock = lock;
      else lock.release().catch(() => {});  // the session ended while asking
    } catch { /* refused (battery saver, no permission): the screen may dim, that is all */ }
    s.asking = false;
  }

  /** A session runs from the sensor check's Next to its summary: keep the screen on. */
  function sessionRunning(on) {
    if (on && s.running) return;
    s.running = on;
    if (on) { keepAwake(); return; }
    if (s.wakeLock) s.wakeLock.release().catch(() => {});
    s.wakeLock = null;
  }
  // The browser drops the lock when the tab is hidden; take it again on return.
  document.addEventListener("visibilitychange", keepAwake);

  const fullscreen = $("fullscreen");
  if (!document.fullscreenEnabled) fullscreen.hidden = true;
  fullscreen.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  });
  document.addEventListener("fullscreenchange", () => {
    fullscreen.textContent = document.fullscreenElement ? "Leave full screen" : "Full screen";
  });

  // alerts over the live screen ----------------------------------------------------------
  function showCameraAlert(camera) {
    const fix = camera && camera.messages.length ? ` ${camera.messages[0]}` : "";
    $("sensor-alert").textContent = "The camera cannot see you." + fix +
      " The session is paused and goes on by itself when the camera sees you again.";
    $("sensor-alert").hidden = false;
    document.body.classList.add("alerting");
  }

  function showSensorAlert(silent) {
    const alert = $("sensor-alert");
    // The alert says the session is paused and why: the mat view's banner gives way to it.
    document.body.classList.toggle("alerting", silent.length > 0);
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

  // the summary ---------------------------------------------------------------------------
  function mean(values) {
    const finite = values.filter((v) => typeof v === "number");
    return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
  }

  function painSummary(before, after) {
    if (before !== null && after !== null) return `${before} → ${after} mm`;
    const text = (v) => (v === null ? "not answered" : `${v} mm`);
    return `${text(before)} → ${text(after)}`;
  }

  // The advice of a session whose pain rose past the stop threshold: a text, or an object
  // with its words (message/advice/text) and what to do (fix).
  function adviceText(advice) {
    if (typeof advice === "string") return advice;
    const words = [advice.message || advice.advice || advice.text || advice.cause, advice.fix];
    return words.filter(Boolean).map(sentence).join(" ");
  }

  /** The summary step: saved (or the advice instead), the numbers that apply to this
   * technique, the rep table and the session's plot. */
  function renderSummary({ result, saved, advice, painBefore, painAfter }) {
    const said = $("saved");
    said.classList.toggle("advice", Boolean(advice));
    said.setAttribute("role", advice ? "alert" : "status");
    if (advice) said.textContent = adviceText(advice);
    else said.textContent = saved ? "Saved to your history" : "Not saved: the history is not available.";
    const holds = s.targets && s.targets.hold_s !== null && s.targets.hold_s !== undefined;
    const breath = result.breath || (result.info && result.info.breath) || null;
    const quality = mean(result.reps.map((r) => r.quality));
    const stats = [["Reps", String(result.reps.length)], ["Sets", String(result.sets.length)]];
    if (holds) {
      const held = mean(result.reps.map((r) => r.hold_s));
      stats.push(["Mean hold", held === null ? "–" : formatSeconds(held)]);
    }
    if (breath) {
      stats.push(["In time with the breath", typeof breath.in_phase_share === "number"
        ? formatShare(breath.in_phase_share) : "–"]);
      stats.push(["Lag behind the breath", typeof breath.lag_s === "number"
        ? formatSeconds(breath.lag_s) : "–"]);
    }
    stats.push(["Mean quality", quality === null ? "–" : `${quality.toFixed(0)} / 100`]);
    stats.push(["Pain", painSummary(painBefore, painAfter)]);
    const list = $("summary-stats");
    list.replaceChildren();
    for (const [name, value] of stats) {
      const dt = document.createElement("dt"); dt.textContent = name;
      const dd = document.createElement("dd"); dd.textContent = value;
      dd.id = `summary-${name.toLowerCase().replace(/\s+/g, "-")}`;
      list.append(dt, dd);
    }
    renderRepTable(result.reps, holds, Boolean(breath));
    const t0 = s.frames.length ? s.frames[0].t : 0;
    plot($("summary-plot"), s.frames, t0, s.lastT, result.reps.map((r) => [r.start_s, r.end_s]));
  }

  function renderRepTable(reps, holds, breath) {
    const columns = [["Rep", (r) => r.index]];
    if (holds) columns.push(["Hold (s)", (r) => (r.hold_s === null ? "–" : r.hold_s.toFixed(1))]);
    if (breath) {
      columns.push(["In time", (r) => (typeof r.in_phase_share === "number"
        ? formatShare(r.in_phase_share) : "–")]);
    }
    // Faults in the catalogue's plain words (faults[].label), else the id made readable.
    const labels = Object.fromEntries(((s.technique && s.technique.faults) || [])
      .map((f) => [f.id, f.label]));
    const fault = (id) => labels[id] || id.replaceAll(/[_-]/g, " ");
    columns.push(["Quality", (r) => r.quality],
      ["Faults", (r) => (r.faults.length ? r.faults.map(fault).join(", ") : "none")]);
    const table = $("summary-rep-table");
    const head = document.createElement("tr");
    for (const [name] of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    }
    table.querySelector("thead").replaceChildren(head);
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const rep of reps) {
      const row = document.createElement("tr");
      for (const [, cell] of columns) {
        const td = document.createElement("td");
        td.textContent = String(cell(rep));
        row.appendChild(td);
      }
      body.appendChild(row);
    }
  }

  /** Say a cue aloud, unless the mute switch is on (speech is optional). */
  function speak(text) {
    if ($("mute").checked || !("speechSynthesis" in window)) return;
    try {
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
    } catch (error) { /* speech is optional */ }
  }

  // words ---------------------------------------------------------------------------------
  function formatDegrees(value) {
    const rounded = Math.round(value);
    return `${rounded === 0 ? 0 : rounded}°`;  // never "-0°"
  }
  function formatSeconds(value) { return `${value.toFixed(1)} s`; }
  function formatShare(value) { return `${Math.round(value * 100)} %`; }
  function sentence(text) {
    const t = (text || "").trim();
    return !t || /[.!?]$/.test(t) ? t : `${t}.`;
  }

  return {
    reset, onState, onFrame, onRep, onCue, onBreath, draw, plot, setMat, sessionRunning,
    showCameraAlert, showSensorAlert, renderSummary, speak, formatSeconds, formatShare, sentence,
    frames: () => s.frames, lastT: () => s.lastT, band: () => s.band, bands: () => s.bands,
    targets: () => s.targets, measures: () => s.measures,
  };
})();
window.spinecoachLive = spinecoachLive;
