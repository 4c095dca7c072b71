// spinecoach program plan and progress: the "Recommended for you" block on the home view
// and the /progress charts (drawn on <canvas>). No build step, nothing fetched beyond this
// server's API. Every chart has a text summary and a data table; a focused chart steps
// through its points with the arrow keys. spinecoach is a coaching tool, not a medical device.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const COLORS = { pain: "#0b5cad", base: "#4a4a4a", mcid: "#2e7d32", before: "#0b5cad",
    after: "#c2410c", quality: "#6741d9", range: "#0b7285", doses: "#862e9c", grid: "#d0d7de" };
  const PSFS_COLORS = ["#0b5cad", "#c2410c", "#2e7d32", "#862e9c", "#0b7285"];

  const { el, zone, getJson, suggestionList, decisionBlock } = window.spinecoachUI;

  function techniqueName(name) { return name.replace(/-/g, " "); }
  // Plain technique titles from the catalogue (filled by loadProgress).
  const TITLES = {};
  function titleOf(name) { return TITLES[name] || techniqueName(name); }

  const SLOT_TEXT = { morning: "morning", main: "main session", "desk-break": "desk break" };

  function doseLine(d) {
    const parts = [`${d.sets} × ${d.reps} reps`];
    if (d.hold_s > 0) parts.push(`hold ${d.hold_s} s`);
    if (d.tempo_s > 0) parts.push(`moving over ${d.tempo_s} s`);
    return `${titleOf(d.technique)} (${SLOT_TEXT[d.slot] || d.slot}): ${parts.join(", ")}`;
  }

  // "Recommended for you" -----------------------------------------------------------------
  function renderRecommended(box, today, withLink) {
    box.replaceChildren();
    box.append(el("h2", { id: `${box.id}-title`, text: "Recommended for you" }));
    const plan = today.plan;
    if (today.status === "active" && plan.today.length) {
      box.append(el("p", { class: "plan-title",
        text: `Day ${plan.day}, level ${plan.level} (${plan.title}). Today:` }));
      const list = el("ul", { class: "plan-list" });
      for (const d of plan.today) list.append(el("li", { text: doseLine(d) }));
      if (plan.desk_breaks) list.append(el("li", { text: `${plan.desk_breaks} desk breaks` }));
      box.append(list);
    }
    if (today.suggestions.length) box.append(suggestionList(today.suggestions));
    if (today.last_decision) box.append(decisionBlock(today.last_decision));
    box.append(el("p", { class: "disclaimer", text: today.disclaimer }));
    if (withLink) box.append(el("p", {}, el("a", { href: "/progress", class: "button", text: "See your progress" })));
    box.hidden = false;
  }


  // Charts --------------------------------------------------------------------------------
  // spec: {title, summary, xLabel, yLabel, yMin, yMax, xMin, xMax, series, hlines, table, kind}
  // series: [{name, color, dash, type: "line"|"bar"|"dot"|"pair", points: [{x, y, y2?, label}]}]
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const step = 10 ** Math.floor(Math.log10(value));
    return Math.ceil(value / step) * step;
  }

  function drawAxes(ctx, box, spec) {
    ctx.strokeStyle = COLORS.grid;
    ctx.fillStyle = "#4a4a4a";
    ctx.lineWidth = 1;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i += 1) {
      const v = spec.yMin + (spec.yMax - spec.yMin) * i / 4;
      const y = box.y + box.h - box.h * i / 4;
      ctx.beginPath(); ctx.moveTo(box.x, y); ctx.lineTo(box.x + box.w, y); ctx.stroke();
      ctx.fillText(String(Math.round(v * 10) / 10), box.x - 4, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const ticks = Math.min(6, spec.xMax - spec.xMin);
    for (let i = 0; i <= ticks; i += 1) {
      const v = Math.round(spec.xMin + (spec.xMax - spec.xMin) * i / Math.max(ticks, 1));
      ctx.fillText(String(v), box.x + box.w * (v - spec.xMin) / Math.max(spec.xMax - spec.xMin, 1), box.y + box.h + 4);
    }
    ctx.fillText(spec.xLabel, box.x + box.w / 2, box.y + box.h + 20);
    ctx.save();
    ctx.translate(12, box.y + box.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(spec.yLabel, 0, -6);
    ctx.restore();
  }

  function drawChart(canvas, spec, focus) {
    const width = canvas.clientWidth || 340;
    const height = Math.round(Math.min(260, Math.max(200, width * 0.55)));
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (spec.kind === "calendar") { drawCalendar(ctx, width, height, spec, focus); return; }
    const box = { x: 46, y: 10, w: width - 58, h: height - 50 };
    drawAxes(ctx, box, spec);
    const span = Math.max(spec.xMax - spec.xMin, 1);
    const X = (x) => box.x + box.w * (x - spec.xMin) / span;
    const Y = (y) => box.y + box.h - box.h * (y - spec.yMin) / (spec.yMax - spec.yMin);
    for (const line of spec.hlines || []) {
      ctx.strokeStyle = line.color; ctx.setLineDash([6, 4]); ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(box.x, Y(line.y)); ctx.lineTo(box.x + box.w, Y(line.y)); ctx.stroke();
      ctx.setLineDash([]); ctx.fillStyle = line.color; ctx.textAlign = "left"; ctx.textBaseline = "bottom";
      ctx.fillText(line.label, box.x + 4, Y(line.y) - 2);
    }
    const barW = Math.max(3, Math.min(16, box.w / span * 0.6));
    for (const s of spec.series) {
      ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
      ctx.setLineDash(s.dash ? [4, 3] : []);
      if (s.type === "line" && s.points.length > 1) {
        ctx.beginPath();
        s.points.forEach((p, i) => (i ? ctx.lineTo(X(p.x), Y(p.y)) : ctx.moveTo(X(p.x), Y(p.y))));
        ctx.stroke();
      }
      ctx.setLineDash([]);
      for (const p of s.points) {
        if (s.type === "bar") ctx.fillRect(X(p.x) - barW / 2, Y(p.y), barW, Y(spec.yMin) - Y(p.y));
        else if (s.type === "pair") {
          ctx.strokeStyle = COLORS.base; ctx.lineWidth = 1.5;
          ctx.beginPath(); ctx.moveTo(X(p.x), Y(p.y)); ctx.lineTo(X(p.x), Y(p.y2)); ctx.stroke();
          ctx.fillStyle = COLORS.before; ctx.beginPath(); ctx.arc(X(p.x), Y(p.y), 4, 0, 2 * Math.PI); ctx.fill();
          ctx.fillStyle = COLORS.after; ctx.fillRect(X(p.x) - 4, Y(p.y2) - 4, 8, 8);
        } else { ctx.beginPath(); ctx.arc(X(p.x), Y(p.y), 3.5, 0, 2 * Math.PI); ctx.fill(); }
      }
    }
    const pts = focusPoints(spec);
    if (focus !== null && pts[focus]) {
      const p = pts[focus];
      ctx.strokeStyle = "#c2410c"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(X(p.x), Y(p.y), 8, 0, 2 * Math.PI); ctx.stroke();
    }
  }

  function drawCalendar(ctx, width, height, spec, focus) {
    const cols = 7;
    const rows = Math.ceil(spec.days / cols);
    const size = Math.min((width - 60) / cols, (height - 10) / rows) - 4;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let r = 0; r < rows; r += 1) {
      ctx.fillStyle = "#4a4a4a"; ctx.textAlign = "right";
      ctx.fillText(`Week ${r + 1}`, 54, 5 + r * (size + 4) + size / 2);
    }
    for (let d = 1; d <= spec.days; d += 1) {
      const x = 60 + ((d - 1) % cols) * (size + 4);
      const y = 5 + Math.floor((d - 1) / cols) * (size + 4);
      const info = spec.byDay[d];
      let fill = "#eef1f4";
      if (info) fill = info.done >= info.prescribed ? "#2e7d32" : info.done > 0 ? "#f59f00" : "#e03131";
      ctx.fillStyle = fill;
      ctx.fillRect(x, y, size, size);
      ctx.fillStyle = info ? "#fff" : "#4a4a4a"; ctx.textAlign = "center";
      ctx.fillText(String(d), x + size / 2, y + size / 2);
      if (focus !== null && spec.points[focus] && spec.points[focus].x === d) {
        ctx.strokeStyle = "#c2410c"; ctx.lineWidth = 3; ctx.strokeRect(x - 2, y - 2, size + 4, size + 4);
      }
    }
  }

  function focusPoints(spec) {
    return spec.kind === "calendar" ? spec.points : spec.series.flatMap((s) => s.points);
  }

  function table(spec) {
    const head = el("tr", {}, ...spec.table.head.map((h) => el("th", { scope: "col", text: h })));
    const body = el("tbody", {}, ...spec.table.rows.map((row) => el("tr", {}, ...row.map((c) => el("td", { text: String(c ?? "–") })))));
    return el("details", {}, el("summary", { text: "Show the numbers" }),
      el("table", { class: "data" }, el("thead", {}, head), body));
  }

  // A legend's colour patch, coloured through the DOM: the page's Content-Security-Policy
  // refuses style="" attributes.
  function swatch(color) {
    const patch = el("span", { class: "swatch" });
    patch.style.background = color;
    return patch;
  }

  function chartFigure(id, spec) {
    const canvas = el("canvas", { id: `chart-${id}`, role: "img", tabindex: "0",
      "aria-label": `${spec.title}. ${spec.summary} Use the arrow keys to step through the values.` });
    const readout = el("p", { class: "readout", "aria-live": "polite" });
    const legend = el("p", { class: "legend" }, ...(spec.legend || []).map(([color, text]) =>
      el("span", {}, swatch(color), ` ${text} `)));
    const figure = el("figure", { class: "chart", id: `figure-${id}` },
      el("h2", { text: spec.title }), legend, canvas, readout,
      el("figcaption", { class: "summary", text: spec.summary }), table(spec));
    let focus = null;
    const points = focusPoints(spec);
    const redraw = () => drawChart(canvas, spec, focus);
    canvas.addEventListener("keydown", (event) => {
      if (!points.length) return;
      const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      if (event.key === "Home") focus = 0;
      else if (event.key === "End") focus = points.length - 1;
      else if (event.key in moves) {
        focus = focus === null ? 0 : Math.min(points.length - 1, Math.max(0, focus + moves[event.key]));
      } else return;
      event.preventDefault();
      readout.textContent = points[focus].label;
      redraw();
    });
    canvas.addEventListener("blur", () => { focus = null; redraw(); });
    figure.redraw = redraw;
    return figure;
  }

  function fmt(v, unit = "") { return v === null || v === undefined ? "–" : `${Math.round(v * 10) / 10}${unit}`; }

  // One movement-range chart per technique: each technique measures its own angle (a
  // pelvic tilt's range and a cat-cow's are different quantities), never one trend.
  function techniqueSpec(data, technique, last) {
    const name = titleOf(technique);
    const withRange = data.sessions.filter((s) => s.technique === technique && s.mean_range_deg !== null);
    if (!withRange.length) return null;
    return {
      title: `${name}: movement range (degrees)`, xLabel: "Program day", yLabel: "deg", xMin: 1, xMax: Math.max(last, 2),
      yMin: 0, yMax: niceMax(Math.max(10, ...withRange.map((s) => s.mean_range_deg))),
      series: [{ name: "Range", color: COLORS.range, type: "line", points: withRange.map((s) => ({ x: s.day, y: s.mean_range_deg,
        label: `Day ${s.day}, ${name}: mean range ${fmt(s.mean_range_deg)}°` })) }],
      legend: [[COLORS.range, "mean range of the reps"]],
      summary: `${withRange.length} ${name} session${withRange.length === 1 ? "" : "s"}; mean range ${fmt(withRange[0].mean_range_deg)}° first, ${fmt(withRange[withRange.length - 1].mean_range_deg)}° latest.`,
      table: { head: ["Day", "Reps", "Mean range (°)"], rows: withRange.map((s) => [s.day, s.reps, s.mean_range_deg]) },
    };
  }

  // Rep quality (0–100, the same scale for every technique): one line per technique.
  function qualitySpec(data, last) {
    const withQuality = data.sessions.filter((s) => s.mean_quality !== null);
    const names = [...new Set(withQuality.map((s) => s.technique))];
    const colour = (i) => PSFS_COLORS[i % PSFS_COLORS.length];
    return {
      title: "Rep quality per session (0–100)", xLabel: "Program day", yLabel: "quality", xMin: 1, xMax: Math.max(last, 2), yMin: 0, yMax: 100,
      series: names.map((t, i) => ({ name: titleOf(t), color: colour(i), type: "line",
        points: withQuality.filter((s) => s.technique === t).map((s) => ({ x: s.day, y: s.mean_quality,
          label: `Day ${s.day}, ${titleOf(t)}: mean quality ${fmt(s.mean_quality)}` })) })),
      legend: names.map((t, i) => [colour(i), titleOf(t)]),
      summary: names.length ? names.map((t) => {
        const rows = withQuality.filter((s) => s.technique === t);
        return `${titleOf(t)}: ${fmt(rows[0].mean_quality)} first, ${fmt(rows[rows.length - 1].mean_quality)} latest.`;
      }).join(" ") : "No sessions with reps yet.",
      table: { head: ["Day", "Technique", "Reps", "Mean quality"], rows: withQuality.map((s) => [s.day, titleOf(s.technique), s.reps, s.mean_quality]) },
    };
  }

  function specs(data) {
    const last = Math.max(data.day, 1);
    const out = {};
    const morning = data.morning_vas.map((m) => ({ x: m.day, y: m.vas_mm, label: `Day ${m.day} (${m.date}): morning pain ${fmt(m.vas_mm)} mm` }));
    const po = data.pain_outcome;
    out.pain = {
      title: "Morning pain (VAS, mm)", xLabel: "Program day", yLabel: "mm", xMin: 1, xMax: Math.max(last, 2), yMin: 0, yMax: 100,
      series: [{ name: "Morning pain", color: COLORS.pain, type: "line", points: morning }],
      hlines: [{ y: data.baseline_vas_mm, label: `start ${fmt(data.baseline_vas_mm)} mm`, color: COLORS.base },
        { y: data.mcid.line_mm, label: `important change ${fmt(data.mcid.line_mm)} mm`, color: COLORS.mcid }],
      legend: [[COLORS.pain, "morning pain"], [COLORS.base, "start"], [COLORS.mcid, `important change (${data.mcid.mm} mm or ${data.mcid.pct} %)`]],
      summary: morning.length
        ? `${morning.length} morning ratings; started at ${fmt(data.baseline_vas_mm)} mm, latest ${fmt(morning[morning.length - 1].y)} mm. `
          + (po.current_vas_mm === null ? "" : `Recent average ${fmt(po.current_vas_mm)} mm (${fmt(po.change_mm)} mm, ${fmt(po.change_pct)} %): `
          + (po.mcid_reached ? "an important improvement." : `an important change is a fall to ${fmt(data.mcid.line_mm)} mm or below.`))
        : "No morning pain ratings yet: do the daily check-in.",
      table: { head: ["Day", "Date", "Morning pain (mm)"], rows: data.morning_vas.map((m) => [m.day, m.date, m.vas_mm]) },
    };
    const byDay = {};
    for (const a of data.adherence) byDay[a.day] = a;
    const full = data.adherence.filter((a) => a.done >= a.prescribed).length;
    out.adherence = {
      kind: "calendar", title: "Sessions done each day", days: data.days, byDay,
      points: data.adherence.map((a) => ({ x: a.day, label: `Day ${a.day} (${a.date}): ${a.done} of ${a.prescribed} sessions done` })),
      legend: [["#2e7d32", "all done"], ["#f59f00", "some"], ["#e03131", "none"], ["#eef1f4", "to come"]],
      summary: `${full} of ${data.adherence.length} days with every session done; `
        + `${data.adherence_total.done} of ${data.adherence_total.prescribed} sessions overall (${Math.round(100 * data.adherence_total.share)} %).`,
      table: { head: ["Day", "Date", "Done", "Prescribed", "Level"], rows: data.adherence.map((a) => [a.day, a.date, a.done, a.prescribed, a.level]) },
    };
    // One movement chart per technique: each technique measures its own angle (a pelvic
    // tilt's range and a cat-cow's are different quantities), so they are never one trend.
    for (const technique of [...new Set(data.sessions.map((s) => s.technique))]) {
      const spec = techniqueSpec(data, technique, last);
      if (spec) out[`range-${technique}`] = spec;
    }
    out.quality = qualitySpec(data, last);
    const meds = data.medication;
    out.medication = {
      title: "Pain medication (doses per day)", xLabel: "Program day", yLabel: "doses", xMin: 1, xMax: Math.max(last, 2), yMin: 0,
      yMax: niceMax(Math.max(4, data.baseline_doses_per_day || 0, ...meds.map((m) => m.doses_per_day))),
      series: [{ name: "Doses", color: COLORS.doses, type: "bar", points: meds.map((m) => ({ x: m.day, y: m.doses_per_day, label: `Day ${m.day} (${m.date}): ${m.doses_per_day} doses` })) }],
      hlines: data.baseline_doses_per_day === null ? [] : [{ y: data.baseline_doses_per_day, label: `start ${data.baseline_doses_per_day}/day`, color: COLORS.base }],
      legend: [[COLORS.doses, "doses that day"], [COLORS.base, "at the start"]],
      summary: meds.length ? `${meds.length} days logged; ${data.baseline_doses_per_day ?? "–"} doses a day at the start, ${meds[meds.length - 1].doses_per_day} on the latest day.` : "No medication logged yet.",
      table: { head: ["Day", "Date", "Doses"], rows: meds.map((m) => [m.day, m.date, m.doses_per_day]) },
    };
    const activities = [...new Set(data.psfs.map((p) => p.activity))];
    const weeks = Math.max(1, ...data.psfs.map((p) => p.week));
    out.psfs = {
      title: "Function (PSFS, 0–10) by week", xLabel: "Week (0 = start)", yLabel: "score", xMin: 0, xMax: Math.max(weeks, 1), yMin: 0, yMax: 10,
      series: activities.map((a, i) => ({ name: a, color: PSFS_COLORS[i % PSFS_COLORS.length], type: "line",
        points: data.psfs.filter((p) => p.activity === a).map((p) => ({ x: p.week, y: p.score, label: `Week ${p.week}, ${a}: ${p.score} of 10` })) })),
      legend: activities.map((a, i) => [PSFS_COLORS[i % PSFS_COLORS.length], a]),
      summary: activities.length ? activities.map((a) => {
        const rows = data.psfs.filter((p) => p.activity === a);
        return `${a}: ${rows[0].score} at the start, ${rows[rows.length - 1].score} latest.`;
      }).join(" ") : "No function ratings yet.",
      table: { head: ["Week", "Activity", "Score"], rows: data.psfs.map((p) => [p.week, p.activity, p.score]) },
    };
    const rated = data.sessions.filter((s) => s.vas_before_mm !== null && s.vas_after_mm !== null);
    out.sessionPain = {
      title: "Pain before → after each session (mm)", xLabel: "Program day", yLabel: "mm", xMin: 1, xMax: Math.max(last, 2), yMin: 0, yMax: 100,
      series: [{ name: "Before → after", color: COLORS.before, type: "pair", points: rated.map((s) => ({ x: s.day, y: s.vas_before_mm, y2: s.vas_after_mm, label: `Day ${s.day}, ${titleOf(s.technique)}: pain ${fmt(s.vas_before_mm)} → ${fmt(s.vas_after_mm)} mm` })) }],
      legend: [[COLORS.before, "before (circle)"], [COLORS.after, "after (square)"]],
      summary: rated.length ? `${rated.length} sessions rated; pain rose in ${rated.filter((s) => s.vas_after_mm > s.vas_before_mm).length}, eased in ${rated.filter((s) => s.vas_after_mm < s.vas_before_mm).length}.` : "No sessions with pain before and after yet.",
      table: { head: ["Day", "Technique", "Before (mm)", "After (mm)"], rows: rated.map((s) => [s.day, titleOf(s.technique), s.vas_before_mm, s.vas_after_mm]) },
    };
    return out;
  }

  // The report for the person and their physiotherapist (GET /api/program/report.pdf|html).
  function reportActions() {
    if ($("report-actions")) return;
    const tz = zone();
    const query = tz ? `?tz=${encodeURIComponent(tz)}` : "";
    const personal = (path) => (window.spinecoachAuth ? window.spinecoachAuth.withPerson(path) : path);
    const box = el("div", { id: "report-actions", class: "report-actions" },
      el("a", { class: "button", id: "report-pdf", href: personal(`/api/program/report.pdf${query}`),
        download: "spinecoach-report.pdf", text: "Download report (PDF)" }),
      el("a", { class: "button", id: "report-html", href: personal(`/api/program/report.html${query}`),
        download: "spinecoach-report.html", text: "Share with my physiotherapist (HTML)" }));
    const hint = el("p", { class: "hint", id: "report-hint",
      text: "The HTML report is one file with your summary and charts: send it by e-mail or open it on any device. Nothing is sent from here." });
    $("progress-status").after(box, hint);
  }

  async function loadProgress() {
    for (const section of document.querySelectorAll("main > section")) {
      section.hidden = section.id !== "view-progress";
    }
    $("steps").textContent = "";
    $("view-progress").querySelector("h1").focus();
    const [result, techniques] = await Promise.all([getJson("/api/program/progress"), getJson("/api/techniques")]);
    if (Array.isArray(techniques.data)) for (const t of techniques.data) TITLES[t.name] = t.title;
    if (!result.ok) {
      $("progress-status").textContent = typeof result.data.detail === "string" ? result.data.detail : "Could not load your progress.";
      $("progress-status").append(" ", el("a", { href: "/onboarding", text: "Start the program" }));
      return;
    }
    const data = result.data;
    $("progress-status").textContent = `Day ${data.day} of ${data.days} (started ${data.started}).`
      + (data.status === "active" ? "" : ` The program is ${data.status}.`);
    reportActions();
    renderRecommended($("progress-recommended"), data.today, false);
    const charts = $("progress-charts");
    charts.replaceChildren();
    const figures = Object.entries(specs(data)).map(([id, spec]) => chartFigure(id, spec));
    charts.append(...figures);
    const redraw = () => figures.forEach((f) => f.redraw());
    redraw();
    window.addEventListener("resize", redraw);
  }

  // The home page's block is "Today" (static/today.js).
  if (location.pathname === "/progress") loadProgress();
})();
