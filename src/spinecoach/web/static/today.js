// spinecoach "Today": the home page's plan (one start button per prescribed exercise of
// each slot, carrying its prescribed dose), the first run (a new person is led to
// onboarding), a stopped program's kind explanation (no start buttons: the server refuses
// too), the nav's current page, the camera choice hidden without the camera extra, the
// plain-words status of a past session, and the service worker (static/sw.js, served at
// /sw.js so its scope is the whole app) that shows reminders as notifications.
// No build step, nothing fetched beyond this server. Not a medical device.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SLOTS = [
    { id: "morning", title: "Morning tilts", wire: "morning" },
    { id: "main", title: "Main session", wire: "main" },
    { id: "desk-break", title: "Desk breaks", wire: "deskbreak" },
  ];
  // Program pages live under "Program" in the nav.
  const NAV_OF = { "/onboarding": "/program", "/checkin": "/program", "/psfs": "/program",
    "/screening": "/program" };

  const { el, getJson, suggestionList, decisionBlock } = window.spinecoachUI;

  // The nav ---------------------------------------------------------------------------------
  function markNav() {
    const current = NAV_OF[location.pathname] || location.pathname;
    for (const link of document.querySelectorAll("header nav a")) {
      if (link.getAttribute("href") === current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  // Doses and sessions in plain words --------------------------------------------------------
  function doseWords(dose) {
    const parts = [`${dose.sets} × ${dose.reps} reps`];
    if (dose.hold_s) parts.push(`hold ${dose.hold_s} s`);
    if (dose.tempo_s) parts.push(`moving over ${dose.tempo_s} s`);
    return parts.join(", ");
  }

  /** The dose and slot a prescribed exercise starts with: the server's start payload when
   * it gives one, else made from the plan's fields. */
  function startPayload(item) {
    if (item.start && item.start.technique) {
      const { technique, dose, slot } = item.start;
      return { technique, dose, slot };
    }
    const slot = SLOTS.find((s) => s.id === item.slot);
    return {
      technique: item.technique,
      dose: { reps: item.reps, sets: item.sets, hold_s: item.hold_s ? item.hold_s : null,
        tempo_s: item.tempo_s ?? null },
      slot: slot ? slot.wire : item.slot,
    };
  }

  function startPrescribed(payload) {
    const api = window.spinecoach;
    if (api && typeof api.startPrescribed === "function") { api.startPrescribed(payload); return; }
    // Until the page offers it: choose the technique's card (its own dose).
    const card = document.querySelector(`#technique-list button[data-technique="${payload.technique}"]`);
    if (card) card.click();
  }

  /** What happened in a past session, in plain words (History). */
  function sessionStatus(s) {
    const summary = s.summary || {};
    const reps = summary.reps ?? (s.reps ? s.reps.length : 0);
    const dose = summary.dose || summary.targets || null;
    const target = dose && dose.reps ? dose.reps * (dose.sets || 1) : null;
    if (s.status === "active") return { key: "active", text: "In progress" };
    if (s.status === "interrupted") return { key: "interrupted", text: "Interrupted: the coach stopped" };
    if (summary.interrupted) return { key: "completed", text: "Completed after an interruption" };
    if (summary.ended === "connection closed") return { key: "abandoned", text: "Abandoned: the page was closed" };
    if (summary.stopped_early || reps === 0) return { key: "stopped", text: "Stopped early" };
    if (target !== null && reps < target) return { key: "stopped", text: `Stopped early (${reps} of ${target} reps)` };
    return { key: "completed", text: "Completed" };
  }

  // Today ------------------------------------------------------------------------------------
  // Done today: the server marks each prescribed exercise (``done``, ``session_ids``);
  // the desk-break slot counts its sessions against the desk breaks prescribed.
  function slotGroups(today) {
    const items = (today.plan && today.plan.today) || [];
    return SLOTS.map((slot) => {
      const entries = items.filter((d) => d.slot === slot.id || d.slot === slot.wire);
      let done = entries.filter((d) => d.done).length;
      let wanted = entries.length;
      if (slot.id === "desk-break") {
        done = Math.max(0, ...entries.map((d) => (d.session_ids || []).length), done);
        wanted = Math.max(1, today.plan.desk_breaks || 1);
      }
      return { slot, entries, done, wanted };
    }).filter((g) => g.entries.length);
  }

  function slotState(group) {
    if (group.slot.id === "desk-break") return `${group.done} of ${group.wanted} done today`;
    if (group.done >= group.wanted) return "Done today ✓";
    return group.done ? `${group.done} of ${group.wanted} done today` : "To do today";
  }

  // The home page's heading and the free choice's own heading, once a plan is shown.
  function titleThePage(freeChoice) {
    const heading = document.querySelector("#view-choose h1");
    if (heading) heading.textContent = "Today";
    const list = $("technique-list");
    if (freeChoice && list && !$("free-choice-title")) {
      list.before(el("h2", { id: "free-choice-title", class: "free-choice-title",
        text: "Or choose any exercise" }));
    }
  }

  function renderPlan(box, today, titles) {
    const plan = today.plan;
    titleThePage(true);
    box.append(el("h2", { id: "recommended-title", text: "Your plan for today" }),
      el("p", { class: "plan-title", text: `Day ${plan.day} of your program, week ${today.week}: level ${plan.level} (${plan.title}).` }));
    const groups = slotGroups(today);
    if (!groups.length) {
      box.append(el("p", { text: "Nothing prescribed for today: a rest day. You may still do any exercise below." }));
    }
    const list = el("ul", { class: "today-slots", "aria-label": "Today's sessions" });
    for (const group of groups) {
      const isDone = group.done >= group.wanted;
      const item = el("li", { class: `today-slot${isDone ? " is-done" : ""}`, "data-slot": group.slot.id },
        el("h3", { text: group.slot.title }), el("p", { class: "slot-state", text: slotState(group) }));
      for (const entry of group.entries) {
        const payload = startPayload(entry);
        const title = titles[entry.technique] || entry.technique.replace(/-/g, " ");
        const again = group.slot.id === "desk-break" ? isDone : Boolean(entry.done);
        const button = el("button", { type: "button",
          class: `today-start${again ? "" : " primary"}`, "data-technique": entry.technique,
          "data-slot": group.slot.id, "data-done": String(Boolean(entry.done)) },
        el("strong", { text: `${again ? "Done ✓ · again" : "Start"}: ${title}` }),
        el("span", { class: "dose", text: doseWords(payload.dose) }));
        button.addEventListener("click", () => startPrescribed(payload));
        item.append(button);
      }
      list.append(item);
    }
    box.append(list);
    if (today.suggestions && today.suggestions.length) box.append(suggestionList(today.suggestions));
    if (today.last_decision) box.append(decisionBlock(today.last_decision));
    box.append(el("p", { class: "today-free" },
      el("a", { href: "#free-choice-title", text: "Or choose any exercise freely" }), " · ",
      el("a", { href: "/progress", text: "See your progress" })));
    if (today.disclaimer) box.append(el("p", { class: "disclaimer", text: today.disclaimer }));
  }

  function renderFirstRun(box) {
    box.classList.add("first-run");
    box.append(el("h2", { id: "recommended-title", text: "Welcome: start here" }),
      el("p", { text: "spinecoach guides a 6-week program for your lower back. First a few safety questions and where you are today (about 5 minutes); then this page shows what to do each day." }),
      el("p", {}, el("a", { class: "button primary", id: "first-run-start", href: "/onboarding", text: "Set up my program" })),
      el("p", { class: "hint", text: "Just curious? Try the coach with the built-in simulator: choose any exercise below." }));
  }

  function renderFinished(box) {
    box.append(el("h2", { id: "recommended-title", text: "Your 6-week program is complete" }),
      el("p", { text: "Well done. Keep the exercises that helped as part of your day; any of them is below." }),
      el("p", {}, el("a", { class: "button", href: "/progress", text: "See your progress and report" }),
        " ", el("a", { class: "button", href: "/onboarding", text: "Start a new program" })));
  }

  function renderStopped(box, status) {
    box.classList.add("today-stopped");
    titleThePage(false);
    // "Pick one exercise …" does not apply while sessions are refused.
    const intro = document.querySelector("#view-choose h1 + p");
    if (intro) intro.hidden = true;
    const cause = status.stop_cause ? `because ${status.stop_cause}` : "";
    box.append(el("h2", { id: "recommended-title", text: "Your program is paused" }),
      el("p", { text: `Your exercise program is paused${cause ? ` ${cause}` : ""}. That is the safe thing to do for now, and nothing is lost.` }));
    if (status.stop_advice) box.append(el("p", { class: "stop-advice", text: status.stop_advice }));
    // The server's words when it gives them (the same everywhere: program_status).
    const whatToDo = (status.program_status && status.program_status.what_to_do)
      || "see a doctor or physiotherapist and tell them what happened. Once they agree you can exercise again, start the program again; your history stays.";
    box.append(el("p", { class: "what-to-do" }, el("strong", { text: "What to do: " }), whatToDo),
      el("p", {}, el("a", { class: "button primary", href: "/onboarding", text: "A clinician has agreed: start again" }),
        " ", el("a", { class: "button", href: "/program", text: "See what was recorded" })));
    for (const id of ["technique-list"]) { const node = $(id); if (node) node.hidden = true; }
    const picker = document.querySelector(".source-picker");
    if (picker) picker.hidden = true;
  }

  async function loadToday() {
    const box = $("recommended");
    if (!box) return;
    const [status, today, techniques] = await Promise.all([
      getJson("/api/program/status"), getJson("/api/program/today"), getJson("/api/techniques")]);
    const titles = Object.fromEntries((Array.isArray(techniques.data) ? techniques.data : [])
      .map((t) => [t.name, t.title]));
    box.replaceChildren();
    box.classList.add("today");
    const stopped = status.ok && (status.data.status === "stopped"
      || (status.data.program_status && status.data.program_status.sessions_allowed === false));
    if (stopped) renderStopped(box, status.data);
    else if (today.ok && today.data.status === "active") renderPlan(box, today.data, titles);
    else if (status.ok && status.data.status === "completed") renderFinished(box);
    else if (!status.ok || !status.data.enrolled) renderFirstRun(box);
    else return;
    box.hidden = false;
    box.dataset.ready = "true";
  }

  // The camera choice: only when the server can use a camera ----------------------------------
  async function hideCameraWithoutExtra() {
    const radio = $("source-camera");
    if (!radio) return;
    const result = await getJson("/api/camera");
    if (!result.ok || result.data.available) return;
    const label = radio.closest("label") || radio;
    label.hidden = true;
    if (radio.checked) { radio.checked = false; const sim = $("source-sim"); if (sim) sim.checked = true; }
    // For whoever runs the server (the patient never sees it); the server log says it too.
    console.info(`spinecoach: the camera choice is hidden: ${result.data.problem}`);
  }

  // The service worker (reminders as notifications) -------------------------------------------
  function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
      console.info(`spinecoach: no service worker (${error})`);
    });
  }

  window.spinecoachToday = { sessionStatus, doseWords, startPayload, reload: loadToday };
  markNav();
  registerServiceWorker();
  if (location.pathname === "/") {
    // Both change the layout above the choices (the plan box, the camera choice); the
    // marker says the home page has stopped moving (tests wait for it before clicking).
    Promise.allSettled([loadToday(), hideCameraWithoutExtra()]).then(() => {
      document.body.dataset.homeReady = "true";
    });
  }
})();
