// spinecoach's working day: the desk-break prompt on every page (while the server
// monitors posture), and the /day view — today's posture timeline, time per posture,
// slouched share of sitting, bouts and breaks, the week's trend, and the prompt settings.
// Reads /api/posture/*; nothing else is fetched.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 2000;
  const COLOURS = {
    lying: "#7e57c2", sitting_upright: "#2e7d32", sitting_slouched: "#c2410c",
    standing: "#0b5cad", walking: "#00838f", transition: "#9e9e9e", upright: "#5c6bc0",
    unknown: "#e0e0e0",
  };
  const NAMES = {
    lying: "lying", sitting_upright: "sitting upright", sitting_slouched: "sitting slouched",
    standing: "standing", walking: "walking", transition: "getting up / down",
    upright: "upright (sitting or standing)", unknown: "no data",
  };

  function hm(seconds) {
    const minutes = Math.round(seconds / 60);
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }

  // The desk-break prompt -------------------------------------------------------------------
  const prompt = { id: null, timer: null };

  async function answer(action) {
    if (prompt.id === null) return;
    const id = prompt.id;
    await fetch(`/api/posture/prompt/${id}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action }),
    });
    $("deskbreak").hidden = true;
    if (action === "start") location.href = "/?technique=cat-cow-seated";
  }

  async function poll() {
    let status;
    try { status = await (await fetch("/api/posture/now")).json(); } catch (error) { return; }
    if (status.source === null) {  // the server does not monitor posture: stop asking
      clearInterval(prompt.timer);
      return;
    }
    const open = status.prompt;
    // Not over a session that is running: the banner waits for the summary.
    const busy = ["calibration", "session"].some((v) => { const s = $(`view-${v}`); return s && !s.hidden; });
    if (open && open.outcome === "pending" && !busy) {
      if (prompt.id !== open.id) {
        prompt.id = open.id;
        $("deskbreak-text").textContent = open.text;
        $("deskbreak").hidden = false;
      }
    } else {
      $("deskbreak").hidden = true;
      if (!open) prompt.id = null;
    }
    if (!$("view-day").hidden) renderNow(status);
  }

  $("deskbreak-start").addEventListener("click", () => answer("start"));
  $("deskbreak-snooze").addEventListener("click", () => answer("snooze"));
  $("deskbreak-dismiss").addEventListener("click", () => answer("dismiss"));

  // The day view ------------------------------------------------------------------------------
  function renderNow(status) {
    let text = `Now: ${status.posture.replace("-", " ")}`;
    if (status.sitting_min !== null) text += `, sitting for ${Math.floor(status.sitting_min)} min`;
    if (status.trust && status.trust.trusted === false && status.trust.messages && status.trust.messages.length) {
      text += `. Not trusted: ${status.trust.messages.join(" ")}`;
    }
    $("day-now").textContent = text;
  }

  function drawTimeline(day) {
    const canvas = $("day-timeline");
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const start = Date.parse(day.start_utc), span = Date.parse(day.end_utc) - start;
    for (const m of day.minutes_rows) {
      let best = "unknown", most = 0;
      for (const name of Object.keys(COLOURS)) if ((m[name] || 0) > most) { best = name; most = m[name]; }
      if (!m.trusted) best = "unknown";
      const x = ((Date.parse(m.minute_utc) - start) / span) * w;
      ctx.fillStyle = COLOURS[best];
      ctx.fillRect(x, 10, Math.max(1, (60000 / span) * w), h - 30);
    }
    ctx.fillStyle = "#4a4a4a";
    ctx.font = "12px sans-serif";
    for (let hour = 0; hour <= 24; hour += 3) {
      const x = (hour / 24) * w;
      ctx.fillRect(x, h - 20, 1, 4);
      ctx.fillText(`${hour}:00`, Math.min(x + 2, w - 34), h - 4);
    }
    $("day-legend").replaceChildren(...Object.keys(COLOURS).filter((k) => (day.seconds[k] || 0) > 0).map((k) => {
      const span = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = COLOURS[k];
      span.append(swatch, NAMES[k]);
      return span;
    }));
  }

  function renderStats(day) {
    const stats = [];
    for (const k of Object.keys(NAMES)) if ((day.seconds[k] || 0) >= 30) stats.push([NAMES[k], hm(day.seconds[k])]);
    stats.push(["Sitting", hm(day.sitting_s)]);
    stats.push(["Slouched share of sitting", day.slouched_share === null ? "–" : `${Math.round(day.slouched_share * 100)} %`]);
    stats.push(["Sitting bouts", String(day.bouts)]);
    stats.push(["Longest bout", hm(day.longest_bout_s)]);
    stats.push(["Breaks (got up)", String(day.breaks)]);
    stats.push(["Desk breaks done", `${day.desk_breaks_done} of ${day.prompts} prompted`]);
    if (day.untrusted_minutes) stats.push(["Minutes not trusted", String(day.untrusted_minutes)]);
    $("day-stats").replaceChildren(...stats.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v;
      return [dt, dd];
    }));
  }

  function renderWeek(week) {
    const canvas = $("week-chart");
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const most = Math.max(8 * 3600, ...week.days.map((d) => d.sitting_s));
    const bar = w / week.days.length;
    ctx.font = "12px sans-serif";
    week.days.forEach((d, i) => {
      const total = (d.sitting_s / most) * (h - 24);
      const slouched = ((d.seconds.sitting_slouched || 0) / most) * (h - 24);
      ctx.fillStyle = COLOURS.sitting_upright;
      ctx.fillRect(i * bar + 8, h - 20 - total, bar - 16, total - slouched);
      ctx.fillStyle = COLOURS.sitting_slouched;
      ctx.fillRect(i * bar + 8, h - 20 - slouched, bar - 16, slouched);
      ctx.fillStyle = "#4a4a4a";
      ctx.fillText(d.date.slice(5), i * bar + 8, h - 4);
    });
    $("week-table").querySelector("tbody").replaceChildren(...week.days.map((d) => {
      const row = document.createElement("tr");
      for (const text of [d.date, hm(d.sitting_s),
        d.slouched_share === null ? "–" : `${Math.round(d.slouched_share * 100)} %`,
        hm(d.longest_bout_s), `${d.desk_breaks_done} / ${d.prompts}`]) {
        const cell = document.createElement("td"); cell.textContent = text; row.appendChild(cell);
      }
      return row;
    }));
  }

  async function loadSettings() {
    const s = await (await fetch("/api/posture/settings")).json();
    $("limit-min").value = s.sitting_limit_min;
    $("snooze-min").value = s.snooze_min;
    $("quiet-start").value = s.quiet_start || "";
    $("quiet-end").value = s.quiet_end || "";
  }

  $("deskbreak-settings").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      sitting_limit_min: Number($("limit-min").value), snooze_min: Number($("snooze-min").value),
      quiet_start: $("quiet-start").value || null, quiet_end: $("quiet-end").value || null,
    };
    const response = await fetch("/api/posture/settings", {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (response.ok) { $("settings-saved").textContent = "Saved."; return; }
    const detail = (await response.json()).detail;
    $("settings-saved").textContent = Array.isArray(detail)
      ? detail.map((e) => `${e.loc[e.loc.length - 1]}: ${e.msg}`).join("; ") : detail.problem;
  });

  async function loadDay() {
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== "view-day";
    $("view-day").querySelector("h1").focus();
    const [day, week] = await Promise.all([
      (await fetch("/api/posture/day")).json(), (await fetch("/api/posture/week")).json()]);
    drawTimeline(day);
    renderStats(day);
    renderWeek(week);
    await loadSettings();
  }

  if (location.pathname === "/day") {
    loadDay();
    setInterval(async () => {
      const day = await (await fetch("/api/posture/day")).json();
      drawTimeline(day);
      renderStats(day);
    }, 10000);
  }
  prompt.timer = setInterval(poll, POLL_MS);
  poll();
})();
