// spinecoach 6-week program pages: onboarding (red-flag questions first), daily check-in,
// weekly PSFS, program status, the mid-program warning-sign check (/screening: a "yes"
// stops the program at once), and in-app reminders while any page is open. No build step,
// nothing fetched beyond this server. spinecoach is a coaching tool, not a medical device.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SNOOZE_MIN = 10;
  // A reminder is shown up to this long after its time (a page opened later still shows it).
  const REMINDER_WINDOW_MIN = 30;
  const TICK_MS = 15_000;
  const state = { questions: [], answers: null, status: null, disclaimer: "", needsClearance: false, clearance: null };

  function showView(view) {
    for (const section of document.querySelectorAll("main > section")) {
      section.hidden = section.id !== `view-${view}`;
    }
    $("steps").textContent = "";
    const heading = $(`view-${view}`).querySelector("h1");
    if (heading) heading.focus();
  }

  function pad(n) { return String(n).padStart(2, "0"); }
  function localDay(date) { return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`; }

  async function api(method, url, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  // A 422 from pydantic names the field in `loc`; ours is one sentence in `detail`. A
  // message that already starts with the field's name ("vas_mm=150 is outside …") is shown
  // without repeating it.
  function errorText(data) {
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) {
      return data.detail.map((e) => {
        const path = e.loc.filter((p) => p !== "body");
        const name = String(path[path.length - 1]);
        return e.msg.startsWith(`${name}=`) ? e.msg : `${path.join(".")}: ${e.msg}`;
      }).join("; ");
    }
    return "Something went wrong; please try again.";
  }

  function showError(id, text) {
    const el = $(id);
    el.textContent = text;
    el.hidden = !text;
  }

  function wireSlider(id) {
    $(id).addEventListener("input", () => { $(`${id}-value`).textContent = $(id).value; });
  }

  // Red-flag questions: at onboarding (ids rf-*) and mid-program (ids rs-*) ---------------
  function renderQuestions(list, prefix) {
    list.replaceChildren();
    state.questions.forEach((q, i) => {
      const fieldset = document.createElement("fieldset");
      fieldset.className = "question";
      fieldset.dataset.flag = q.id;
      const legend = document.createElement("legend");
      legend.textContent = `${i + 1}. ${q.question}`;
      fieldset.appendChild(legend);
      for (const [value, label] of [["yes", "Yes"], ["no", "No"]]) {
        const wrap = document.createElement("label");
        wrap.className = "choice";
        const input = document.createElement("input");
        input.type = "radio";
        input.name = `${prefix}-${q.id}`;
        input.id = `${prefix}-${q.id}-${value}`;
        input.value = value;
        wrap.append(input, ` ${label}`);
        fieldset.appendChild(wrap);
      }
      list.appendChild(fieldset);
    });
  }

  // The answers (id → yes), or null after saying which are missing and focusing the first.
  function collectAnswers(prefix, errorId) {
    const answers = {};
    const missing = [];
    for (const q of state.questions) {
      const chosen = document.querySelector(`input[name="${prefix}-${q.id}"]:checked`);
      if (chosen) answers[q.id] = chosen.value === "yes"; else missing.push(q.id);
    }
    if (missing.length) {
      showError(errorId, `Please answer every question with yes or no (${missing.length} not answered yet).`);
      $(`${prefix}-${missing[0]}-yes`).focus();
      return null;
    }
    showError(errorId, "");
    return answers;
  }

  // Onboarding: red flags -------------------------------------------------------------
  async function startOnboarding() {
    const [flags, status] = await Promise.all([api("GET", "/api/program/red-flags"), loadStatus()]);
    if (status.enrolled) { renderProgram(status, "You already have an active program."); return; }
    state.questions = flags.data.questions;
    $("redflag-disclaimer").textContent = flags.data.disclaimer;
    // After a red-flag or pain-jump stop, a new program needs a clinician's agreement (recorded).
    state.needsClearance = status.status === "stopped" && Boolean(status.needs_clearance ?? status.stop_advice);
    $("clearance-box").hidden = !state.needsClearance;
    if (state.needsClearance) {
      const stopped = new Date(status.stopped_utc);
      $("clearance-stopped").textContent = `Your last program was stopped on ${stopped.toLocaleDateString()} because ${status.stop_cause || "of a warning sign you reported"}. Start again only once a doctor or physiotherapist has seen you and agreed.`;
      $("clearance-seen-on").min = localDay(stopped);
      $("clearance-seen-on").max = localDay(new Date());
    }
    renderQuestions($("redflag-list"), "rf");
    showView("onboard-redflags");
  }

  $("redflag-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = collectAnswers("rf", "redflag-error");
    if (!answers) return;
    if (Object.values(answers).some(Boolean)) {
      // A red flag: the server records it and stops the program; no baseline is asked.
      const { ok, data } = await api("POST", "/api/program/onboarding", { red_flags: answers });
      if (!ok) { showError("redflag-error", errorText(data)); return; }
      renderStop(data);
      return;
    }
    state.clearance = null;
    if (state.needsClearance) {
      const seenOn = $("clearance-seen-on").value;
      if (!$("clearance-confirmed").checked || !seenOn) {
        showError("redflag-error", "Please confirm that a doctor or physiotherapist has seen you and agreed that you can start again, and give the day they saw you.");
        $($("clearance-confirmed").checked ? "clearance-seen-on" : "clearance-confirmed").focus();
        return;
      }
      state.clearance = { confirmed: true, seen_on: seenOn };
    }
    state.answers = answers;
    showView("onboard-baseline");
  });

  function renderStop(data) {
    const s = data.screening;
    $("stop-advice").textContent = s.advice;
    const reasons = $("stop-reasons");
    reasons.replaceChildren(...s.reasons.map((r) => { const li = document.createElement("li"); li.textContent = r; return li; }));
    const when = new Date(data.started_utc).toLocaleString();
    $("stop-recorded").textContent = `Your answers were recorded (${when}). The exercise program has not started.`;
    $("stop-disclaimer").textContent = s.disclaimer;
    showView("onboard-stop");
  }

  // Onboarding: baseline ----------------------------------------------------------------
  function psfsRow(i) {
    const row = document.createElement("div");
    row.className = "psfs-row";
    row.innerHTML = `<label for="psfs-activity-${i}">Activity ${i + 1}</label>`
      + `<input type="text" id="psfs-activity-${i}" maxlength="200" autocomplete="off">`
      + `<label for="psfs-score-${i}">Score 0–10</label>`
      + `<input type="number" id="psfs-score-${i}" min="0" max="10" step="1" inputmode="numeric">`;
    return row;
  }
  $("psfs-rows").replaceChildren(psfsRow(0), psfsRow(1), psfsRow(2));
  for (const id of ["baseline-vas", "checkin-vas"]) wireSlider(id);
  $("works-at-desk").addEventListener("change", () => { $("work-hours").hidden = !$("works-at-desk").checked; });

  // A message about an earlier attempt goes once the person changes an answer.
  for (const [form, error] of [["redflag-form", "redflag-error"], ["baseline-form", "baseline-error"],
    ["checkin-form", "checkin-error"], ["psfs-form", "psfs-error"], ["screening-form", "screening-error"]]) {
    $(form).addEventListener("input", () => showError(error, ""));
  }

  function numberOrText(value) { return value.trim() === "" ? value : Number(value); }

  $("baseline-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const psfs = [];
    for (let i = 0; i < 3; i++) {
      const activity = $(`psfs-activity-${i}`).value.trim();
      const score = $(`psfs-score-${i}`).value;
      if (!activity && score === "") continue;
      if (!activity || score === "") {
        showError("baseline-error", `Activity ${i + 1}: give both the activity and its score from 0 to 10.`);
        $(activity ? `psfs-score-${i}` : `psfs-activity-${i}`).focus();
        return;
      }
      psfs.push({ activity, score: numberOrText(score) });
    }
    const desk = $("works-at-desk").checked;
    const baseline = {
      vas_mm: Number($("baseline-vas").value),
      psfs,
      doses_per_day: numberOrText($("baseline-doses").value),
      schedule: {
        morning_time: $("morning-time").value,
        work_start: desk ? $("work-start").value : null,
        work_end: desk ? $("work-end").value : null,
        desk_break_every_min: Number($("break-every").value),
      },
      sensors: [...document.querySelectorAll('input[name="sensor"]:checked')].map((c) => c.value),
    };
    const body = { red_flags: state.answers, baseline };
    if (state.clearance) body.clearance = state.clearance;
    const { ok, data } = await api("POST", "/api/program/onboarding", body);
    if (!ok) { showError("baseline-error", errorText(data)); return; }
    showError("baseline-error", "");
    if (data.screening && data.screening.stop) { renderStop(data); return; }
    state.status = data;
    renderProgram(data, "Saved: your program has started.");
    startReminders(data);
  });

  // Program status ------------------------------------------------------------------------
  async function loadStatus() {
    const { data } = await api("GET", "/api/program/status");
    state.status = data;
    return data;
  }

  const KIND_TEXT = { morning: "Morning routine", "desk-break": "Desk break" };

  function renderProgram(status, saved) {
    $("program-saved").textContent = saved || "";
    const active = status.status === "active";
    const advice = status.status === "stopped" && status.stop_advice;
    $("program-active").hidden = !active;
    $("program-start").hidden = active || status.status === "stopped";
    $("program-stopped").hidden = !advice;
    if (!active) stopReminders();
    if (!active && $("program-today")) $("program-today").remove();
    if (active) {
      $("program-status").textContent = `Week ${Math.min(status.week, status.weeks)} of ${status.weeks}.`;
      $("program-reminders").replaceChildren(...status.reminders.map((r) => {
        const li = document.createElement("li");
        li.textContent = `${KIND_TEXT[r.kind]} at ${r.time} (${r.days === "daily" ? "every day" : "Monday to Friday"})`;
        return li;
      }));
      const start = localDay(new Date(status.started_utc));
      const link = `/api/program/calendar.ics?start=${start}`;  // ?person= for a clinician (auth.js)
      $("calendar-link").href = window.spinecoachAuth ? window.spinecoachAuth.withPerson(link) : link;
      notifyOffer();
      if (!$("program-today")) {  // the way from the program to today's sessions
        const link = document.createElement("a");
        link.className = "button primary";
        link.href = "/";
        link.textContent = "See today's plan and start";
        const p = document.createElement("p");
        p.id = "program-today";
        p.append(link);
        $("program-status").after(p);
      }
    } else if (advice) {
      // Stopped by a red flag or a jump in pain: the advice given then, again, and no
      // session suggestions.
      const when = new Date(status.stopped_utc).toLocaleString();
      $("program-status").textContent = "Your program is stopped. Start again only when a doctor agrees it is right for you.";
      $("program-stop-advice").textContent = status.stop_advice;
      $("program-stop-reasons").replaceChildren(...status.stop_reasons.map((r) => { const li = document.createElement("li"); li.textContent = r; return li; }));
      $("program-stop-recorded").textContent = status.stopped_by === "red-flag" || !status.stopped_by
        ? `Your answers were recorded (${when}).`
        : `Your pain ratings were recorded; the program stopped on ${when}.`;
      $("program-stop-disclaimer").textContent = state.disclaimer || "";
    } else if (status.status === "stopped") {
      $("program-status").textContent = `Your program is stopped: ${status.stop_reason}. Start again only when a doctor agrees it is right for you.`;
    } else {
      $("program-status").textContent = "You have not started the program yet.";
    }
    showView("program");
  }

  // Tracking --------------------------------------------------------------------------------
  async function requireActive() {
    const status = await loadStatus();
    if (status.status !== "active") { renderProgram(status, ""); return null; }
    return status;
  }

  async function startCheckin() {
    if (await requireActive()) showView("checkin");
  }

  $("checkin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      vas_mm: Number($("checkin-vas").value),
      doses_per_day: numberOrText($("checkin-doses").value),
      note: $("checkin-note").value,
      day: localDay(new Date()),
    };
    const { ok, data } = await api("POST", "/api/program/checkin", body);
    if (!ok) { showError("checkin-error", errorText(data)); $("checkin-saved").textContent = ""; return; }
    showError("checkin-error", "");
    $("checkin-saved").textContent = `Saved for ${data.day}: pain ${data.vas_mm} mm, ${data.doses_per_day} dose(s).`;
  });

  // Mid-program warning signs (/screening) -------------------------------------------------
  async function startScreening() {
    const [flags, status] = await Promise.all([api("GET", "/api/program/red-flags"), loadStatus()]);
    state.disclaimer = flags.data.disclaimer;
    if (status.status !== "active") { renderProgram(status, ""); return; }
    state.questions = flags.data.questions;
    $("screening-disclaimer").textContent = flags.data.disclaimer;
    $("screening-saved").textContent = "";
    renderQuestions($("screening-list"), "rs");
    showView("screening");
  }

  $("screening-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = collectAnswers("rs", "screening-error");
    if (!answers) return;
    const { ok, data } = await api("POST", "/api/program/screening", { red_flags: answers });
    if (!ok) { showError("screening-error", errorText(data)); return; }
    if (data.stop) {
      // Recorded and stopped on the server: show the program as it now is, with the advice.
      state.disclaimer = data.disclaimer;
      renderProgram(await loadStatus(), "");
      return;
    }
    $("screening-saved").textContent = "Thank you: none of the warning signs. Your answers were recorded; carry on with your program. If something changes, check again.";
  });

  async function startPsfs() {
    const status = await requireActive();
    if (!status) return;
    const box = $("psfs-weekly");
    if (!status.psfs_activities.length) {
      box.textContent = "You chose no activities at the start, so there is nothing to rate.";
      $("psfs-save").hidden = true;
    } else {
      box.replaceChildren(...status.psfs_activities.map((activity, i) => {
        const row = document.createElement("div");
        row.className = "psfs-row";
        row.innerHTML = `<label for="psfs-week-${i}"></label>`
          + `<input type="number" id="psfs-week-${i}" min="0" max="10" step="1" inputmode="numeric">`;
        row.querySelector("label").textContent = activity;
        row.querySelector("input").dataset.activity = activity;
        return row;
      }));
    }
    showView("psfs");
  }

  $("psfs-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const scores = [...$("psfs-weekly").querySelectorAll("input")].map((input) => ({
      activity: input.dataset.activity, score: numberOrText(input.value),
    }));
    const { ok, data } = await api("POST", "/api/program/psfs", { scores });
    if (!ok) { showError("psfs-error", errorText(data)); $("psfs-saved").textContent = ""; return; }
    showError("psfs-error", "");
    $("psfs-saved").textContent = "Saved: " + data.scores.map((s) => `${s.activity} ${s.score}/10`).join(", ") + ".";
  });

  // In-app reminders ------------------------------------------------------------------------
  // Kept per local day in localStorage: a dismissed reminder stays dismissed on every page,
  // a snoozed one comes back after SNOOZE_MIN minutes.
  const reminders = { list: [], timer: null, current: null };

  function storeKey(date) { return `spinecoach-reminders-${localDay(date)}`; }
  function handled(date) {
    try { return JSON.parse(localStorage.getItem(storeKey(date)) || "{}"); } catch { return {}; }
  }
  function setHandled(date, key, value) {
    const all = handled(date);
    all[key] = value;
    try { localStorage.setItem(storeKey(date), JSON.stringify(all)); } catch { /* private mode */ }
  }

  function dueReminder(now) {
    const weekday = now.getDay() >= 1 && now.getDay() <= 5;
    const done = handled(now);
    for (const r of reminders.list) {
      if (r.days === "weekdays" && !weekday) continue;
      const [h, m] = r.time.split(":").map(Number);
      const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), h, m);
      const minutes = (now - at) / 60_000;
      const key = `${r.kind}-${r.time}`;
      const mark = done[key];
      if (mark === "done" || (typeof mark === "number" && now.getTime() < mark)) continue;
      if (minutes >= 0 && minutes < REMINDER_WINDOW_MIN + (typeof mark === "number" ? 24 * 60 : 0)) {
        return { ...r, key };
      }
    }
    return null;
  }

  function tick() {
    const now = new Date();
    const due = dueReminder(now);
    if (!due || (reminders.current && reminders.current.key === due.key)) return;
    reminders.current = due;
    $("reminder-text").textContent = due.kind === "morning"
      ? `It's ${due.time}: time for your morning routine and pain check-in.`
      : `It's ${due.time}: desk break. Stand up, walk a few steps, do a few gentle cat-cows.`;
    $("reminder-go").hidden = due.kind !== "morning";
    $("reminder").hidden = false;
    if (document.visibilityState !== "visible") notify(due, $("reminder-text").textContent);
  }

  // Reminders as system notifications (static/sw.js shows them), so a prompt arrives while
  // the tab is in the background. Permission is asked only when the person clicks.
  function canNotify() { return "Notification" in window && "serviceWorker" in navigator; }

  async function notify(due, text) {
    if (!canNotify() || Notification.permission !== "granted") return;
    try {
      const registration = await navigator.serviceWorker.ready;
      await registration.showNotification(due.kind === "morning" ? "Morning routine" : "Desk break", {
        body: text, tag: `spinecoach-${due.key}`, data: { url: due.kind === "morning" ? "/" : "/?technique=cat-cow-seated" },
      });
    } catch (error) { /* notifications are optional; the in-page reminder stays */ }
  }

  function notifyState() {
    if (!canNotify()) return "This browser cannot show notifications; use the calendar file above.";
    if (Notification.permission === "granted") return "Notifications are on for this device: reminders pop up while spinecoach is open, even in a background tab. With every tab closed, the calendar file reminds you.";
    if (Notification.permission === "denied") return "Notifications are blocked for this site. To use them, allow notifications in the browser's site settings.";
    return "";
  }

  function notifyOffer() {
    if ($("notify-box")) { $("notify-state").textContent = notifyState(); return; }
    const button = document.createElement("button");
    button.type = "button";
    button.id = "notify-enable";
    button.textContent = "Remind me with notifications on this device";
    const note = document.createElement("p");
    note.id = "notify-state";
    note.className = "hint";
    note.setAttribute("role", "status");
    note.textContent = notifyState();
    const box = document.createElement("div");
    box.id = "notify-box";
    box.className = "notify-box";
    box.append(button, note);
    button.hidden = !canNotify() || Notification.permission !== "default";
    button.addEventListener("click", async () => {
      const answer = await Notification.requestPermission();
      button.hidden = answer !== "default";
      note.textContent = notifyState();
      if (answer === "granted") {
        const registration = await navigator.serviceWorker.ready;
        await registration.showNotification("spinecoach reminders are on", {
          body: "You will get your morning routine and desk breaks here.", tag: "spinecoach-welcome",
        }).catch(() => null);
      }
    });
    $("calendar-link").closest("p").after(box);
  }

  function closeReminder(value) {
    if (!reminders.current) return;
    setHandled(new Date(), reminders.current.key, value);
    reminders.current = null;
    $("reminder").hidden = true;
  }
  $("reminder-snooze").addEventListener("click", () => closeReminder(Date.now() + SNOOZE_MIN * 60_000));
  $("reminder-dismiss").addEventListener("click", () => closeReminder("done"));

  function stopReminders() {
    if (reminders.timer !== null) clearInterval(reminders.timer);
    reminders.timer = null;
    reminders.list = [];
    reminders.current = null;
    $("reminder").hidden = true;
  }

  function startReminders(status) {
    if (!status || status.status !== "active") return;
    reminders.list = status.reminders;
    if (reminders.timer === null) reminders.timer = setInterval(tick, TICK_MS);
    tick();
  }

  // Start -------------------------------------------------------------------------------------
  async function startProgram() {
    const [flags, status] = await Promise.all([api("GET", "/api/program/red-flags"), loadStatus()]);
    state.disclaimer = flags.data.disclaimer;
    renderProgram(status, "");
  }

  const PAGES = { "/onboarding": startOnboarding, "/checkin": startCheckin, "/psfs": startPsfs,
    "/program": startProgram, "/screening": startScreening };
  const start = PAGES[location.pathname];
  (async () => {
    if (start) await start();
    startReminders(state.status || await loadStatus());
  })();
})();
