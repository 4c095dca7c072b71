// spinecoach accounts in the page (issue 16): who is signed in, the header's account bar,
// the sign-in and first-account views, and the one place where the page's API calls are
// adjusted. Loaded first, before every other page script.
//
// Design choices:
// - One wrapper around window.fetch (the page's scripts call fetch in several modules):
//   an API call waits until GET /api/auth/me has answered; a clinician reading one of
//   their persons gets ?person=ID added to it (spinecoachAuth.withPerson does the same
//   for links and images); an answer 401 (the session ended) takes the page to /login,
//   which brings the person back to where they were. Calls of /api/auth/* pass as they are.
// - While nobody is signed in (accounts mode) the page goes to /login (or /setup while
//   the server has no account) and the other scripts' API calls are held, never sent:
//   they would only be refused.
// - A clinician sees their person's pages read-only: body.read-only hides the buttons
//   that change data (accounts.css) and a line says why. The server refuses such changes
//   anyway (web/authz.py); this only keeps the page honest.
// Plain words, no diagnosis. spinecoach is a coaching tool, not a medical device.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const realFetch = window.fetch.bind(window);
  const OPEN_VIEWS = new Set(["/login", "/setup"]);
  const ACCOUNT_VIEWS = new Set(["/login", "/setup", "/account", "/admin"]);
  const ROLE_WORDS = { person: "person", clinician: "clinician", admin: "admin" };
  const never = () => new Promise(() => {});
  const state = { me: null, person: null };
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  // The API calls that are about the signed-in account itself, never about a person.
  function ownPath(path) {
    return path.startsWith("/api/auth/") || path.startsWith("/api/admin/")
      || path.startsWith("/api/devices/tokens");
  }

  function isApi(url) { return url.origin === location.origin && url.pathname.startsWith("/api/"); }

  /** `path` with ?person=ID when a clinician reads one of their persons (else as it is). */
  function withPerson(path) {
    const url = new URL(String(path), location.href);
    if (state.person === null || !isApi(url) || ownPath(url.pathname) || url.searchParams.has("person")) {
      return String(path);
    }
    url.searchParams.set("person", String(state.person));
    return url.pathname + url.search + url.hash;
  }

  function toLogin() {
    const next = location.pathname + location.search;
    location.assign(OPEN_VIEWS.has(location.pathname) ? "/login" : `/login?next=${encodeURIComponent(next)}`);
  }

  window.fetch = async (input, init) => {
    if (typeof input !== "string" && !(input instanceof URL)) return realFetch(input, init);
    const url = new URL(String(input), location.href);
    if (!isApi(url) || url.pathname.startsWith("/api/auth/")) return realFetch(input, init);
    const me = await ready;
    if (me.mode === "accounts" && !me.signed_in) return never();  // on its way to /login
    const response = await realFetch(withPerson(input), init);
    if (response.status === 401 && me.mode === "accounts") { toLogin(); return never(); }
    return response;
  };

  // Texts -----------------------------------------------------------------------------------
  function sentence(text) {
    const t = String(text || "").trim();
    if (!t) return "";
    return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
  }

  /** The server's {"detail": ...} in plain words (ours: {problem, fix}; pydantic: a list). */
  function errorText(data, fallback) {
    const detail = data && data.detail;
    if (detail && typeof detail === "object" && !Array.isArray(detail) && detail.problem) {
      return `${sentence(detail.problem)} ${sentence(detail.fix)}`.trim();
    }
    if (typeof detail === "string") return sentence(detail);
    if (Array.isArray(detail) && detail.length) {
      return detail.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(" ")}: ${e.msg}`).join("; ");
    }
    return fallback;
  }

  /** A wait of `seconds` in words: "4 seconds", "1 minute", "5 minutes". */
  function waitWords(seconds) {
    const s = Math.max(1, Math.ceil(Number(seconds) || 1));
    if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
    const m = Math.ceil(s / 60);
    return `${m} minute${m === 1 ? "" : "s"}`;
  }

  /** POST `body` as JSON to `path`: {ok, status, data, retryAfter}; a network failure is status 0. */
  async function post(path, body, method = "POST") {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    try {
      const response = await window.fetch(path, options);
      const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
      return { ok: response.ok, status: response.status, data,
        retryAfter: Number(response.headers.get("Retry-After")) || 0 };
    } catch {
      return { ok: false, status: 0, data: {}, retryAfter: 0 };
    }
  }

  /** The message of a refused form: the server's words, and for 429 the wait in words. */
  function refusalText(result, then) {
    if (result.status === 0) return "The server did not answer. Check that spinecoach is running, then try again.";
    if (result.status === 429) {
      return `Too many wrong passwords. Please wait ${waitWords(result.retryAfter)}, then ${then}.`;
    }
    return errorText(result.data, `That did not work (error ${result.status}). Please try again.`);
  }

  function showError(id, text) {
    const box = $(id);
    box.textContent = text;
    box.hidden = !text;
  }

  // Views -----------------------------------------------------------------------------------
  /** Show the section `view-NAME` alone, with the focus on its heading. */
  function showView(name) {
    for (const section of document.querySelectorAll("main > section")) {
      section.hidden = section.id !== `view-${name}`;
    }
    $("steps").textContent = "";
    const heading = $(`view-${name}`).querySelector("h1");
    if (heading) heading.focus();
  }

  function safeNext() {
    const next = new URLSearchParams(location.search).get("next") || "/";
    const path = new URL(next, location.href);
    if (path.origin !== location.origin || !next.startsWith("/") || OPEN_VIEWS.has(path.pathname)) return "/";
    return path.pathname + path.search;
  }

  function loginView() {
    showView("login");
    const form = $("login-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = $("login-name").value.trim(), password = $("login-password").value;
      if (!username || !password) {
        showError("login-error", "Please type your user name and your password.");
        (username ? $("login-password") : $("login-name")).focus();
        return;
      }
      const button = $("login-submit");
      button.disabled = true;
      showError("login-error", "");
      const result = await post("/api/auth/login", { username, password });
      if (result.ok) { location.assign(safeNext()); return; }
      showError("login-error", refusalText(result, "sign in again"));
      $("login-password").value = "";
      $("login-password").focus();
      const wait_ms = result.status === 429 ? Math.max(1, result.retryAfter) * 1000 : 0;
      setTimeout(() => { button.disabled = false; }, wait_ms);
    });
  }

  function setupView(me) {
    showView("setup");
    if (!me.setup_needed) {
      $("setup-form").hidden = true;
      $("setup-done").hidden = false;
      return;
    }
    $("setup-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = $("setup-name").value.trim();
      const password = $("setup-password").value, again = $("setup-again").value;
      if (!username || !password) { showError("setup-error", "Please choose a user name and a password."); return; }
      if (password !== again) {
        showError("setup-error", "The two passwords differ. Please type the same password twice.");
        $("setup-again").focus();
        return;
      }
      showError("setup-error", "");
      $("setup-submit").disabled = true;
      const result = await post("/api/auth/setup", { username, password });
      $("setup-submit").disabled = false;
      if (result.ok) { location.assign("/"); return; }
      showError("setup-error", refusalText(result, "try again"));
    });
  }

  // The header ------------------------------------------------------------------------------
  function personKey(me) { return `spinecoach.person.${me.username}`; }

  /** The person a signed-in account reads: their own, or the one chosen among those they follow. */
  function choosePerson(me) {
    const others = (me.persons || []).filter((p) => p.id !== me.person_id);
    if (!me.signed_in || !others.length) return null;
    let saved = null;
    try { saved = Number(localStorage.getItem(personKey(me))); } catch { /* private mode */ }
    if (saved && others.some((p) => p.id === saved)) return saved;
    if (me.person_id) return null;  // their own data first
    return others[0].id;
  }

  function personSelect(me) {
    const others = (me.persons || []).filter((p) => p.id !== me.person_id);
    if (!others.length) return;
    const select = $("person-select");
    const options = [];
    if (me.person_id) options.push(["", "My own data"]);
    for (const p of others) options.push([String(p.id), p.name]);
    for (const [value, text] of options) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      option.selected = value === (state.person === null ? "" : String(state.person));
      select.append(option);
    }
    $("person-choice").hidden = false;
    select.addEventListener("change", () => {
      try {
        if (select.value) localStorage.setItem(personKey(me), select.value);
        else localStorage.removeItem(personKey(me));
      } catch { /* private mode */ }
      location.reload();
    });
  }

  function readOnly(me) {
    const note = $("read-only-note");
    if (me.role === "clinician" && !me.person_id && !(me.persons || []).length) {
      note.textContent = "No person is assigned to you yet. An admin of this server can assign them.";
      note.hidden = false;
      document.body.classList.add("read-only");
      return;
    }
    if (state.person === null) return;
    const name = ((me.persons || []).find((p) => p.id === state.person) || {}).name || "this person";
    note.textContent = `You are reading ${name}'s data. Only ${name} can change it or start a session, so those buttons are hidden.`;
    note.hidden = false;
    document.body.classList.add("read-only");
  }

  function accountBar(me) {
    $("account-who").textContent = `${me.username} · ${ROLE_WORDS[me.role] || me.role}`;
    $("admin-link").hidden = me.role !== "admin";
    personSelect(me);
    $("sign-out").addEventListener("click", async () => {
      $("sign-out").disabled = true;
      await post("/api/auth/logout");
      location.assign("/login");
    });
    $("account-bar").hidden = false;
  }

  // Start -----------------------------------------------------------------------------------
  async function whoAmI() {
    try {
      const response = await realFetch("/api/auth/me", { cache: "no-store" });
      if (response.ok) return await response.json();
    } catch { /* the server did not answer: the page's own calls say so */ }
    return { signed_in: false, mode: "unknown", setup_needed: false, persons: [] };
  }

  function route(me) {
    const path = location.pathname;
    if (me.mode === "single-person") {
      $("mode-line").hidden = false;
      if (ACCOUNT_VIEWS.has(path)) showView("no-accounts");
      return;
    }
    if (me.mode !== "accounts") return;
    if (!me.signed_in) {
      document.body.classList.add("signed-out");
      if (me.setup_needed && path !== "/setup") { location.replace("/setup"); return; }
      if (path === "/setup") { setupView(me); return; }
      if (path !== "/login") { toLogin(); return; }
      loginView();
      return;
    }
    accountBar(me);
    readOnly(me);
    if (OPEN_VIEWS.has(path)) { location.replace(path === "/login" ? safeNext() : "/"); return; }
    if (path === "/account" && window.spinecoachAccount) window.spinecoachAccount.show(me);
    if (path === "/admin" && window.spinecoachAdmin) window.spinecoachAdmin.show(me);
  }

  window.spinecoachAuth = { ready, withPerson, errorText, waitWords, post, refusalText, showError, showView, sentence };

  const asked = whoAmI();  // at once; the views are built once every script has loaded
  document.addEventListener("DOMContentLoaded", async () => {
    const me = await asked;
    state.me = me;
    state.person = choosePerson(me);
    resolveReady(me);
    route(me);
  });
})();
