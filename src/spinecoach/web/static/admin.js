// spinecoach users and audit log (/admin, admins; issue 16): the accounts (name, role,
// own data, disabled, persons followed), adding one, disabling/enabling, a new password,
// assigning a person to a clinician (POST /api/admin/users[/NAME]); the audit log newest
// first, filtered by person, exported as CSV (GET /api/admin/audit[.csv]). The server
// decides who may do this (web/authz.py); static/auth.js calls spinecoachAdmin.show(me).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { el } = window.spinecoachUI;
  const auth = () => window.spinecoachAuth;
  const PAGE = 100;  // audit entries per page
  const admin = { users: [], oldest: null };

  async function getJson(path) {
    try {
      const response = await fetch(path);
      return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
    } catch {
      return { ok: false, status: 0, data: {} };
    }
  }

  function say(text) { $("admin-status").textContent = text; }

  /** person id → the user name of the account that owns it. */
  function personNames() {
    return new Map(admin.users.filter((u) => u.person_id !== null).map((u) => [u.person_id, u.username]));
  }

  function options(select, entries, first = null) {
    const kept = select.value;
    select.replaceChildren(...(first ? [el("option", { value: first[0], text: first[1] })] : []),
      ...entries.map(([value, text]) => el("option", { value: String(value), text })));
    if ([...select.options].some((o) => o.value === kept)) select.value = kept;
  }

  async function act(user, body, done) {
    const result = await auth().post(`/api/admin/users/${encodeURIComponent(user)}`, body);
    say(result.ok ? done : auth().refusalText(result, "try again"));
    if (result.ok) await loadUsers();
    return result.ok;
  }

  function userRow(user, names) {
    const followed = user.persons.map((id) => names.get(id) || `person ${id}`).join(", ");
    const toggle = el("button", { type: "button", class: "toggle",
      text: user.disabled ? "Enable" : "Disable", "aria-label": `${user.disabled ? "Enable" : "Disable"} ${user.username}` });
    toggle.addEventListener("click", () => act(user.username, { action: user.disabled ? "enable" : "disable" },
      `${user.username} is ${user.disabled ? "enabled again" : "disabled: signed out and cannot sign in"}.`));
    return el("tr", { "data-user": user.username },
      el("th", { scope: "row", text: user.username }), el("td", { text: user.role }),
      el("td", { text: user.person_id === null ? "no" : "yes" }),
      el("td", {}, el("span", { class: "state", text: user.disabled ? "disabled" : "active" }), " ", toggle),
      el("td", { text: followed || "–" }));
  }

  async function loadUsers() {
    const result = await getJson("/api/admin/users");
    if (!result.ok || !Array.isArray(result.data)) { say(auth().refusalText(result, "reload the page")); return; }
    admin.users = result.data;
    const names = personNames();
    $("users-table").tBodies[0].replaceChildren(...admin.users.map((u) => userRow(u, names)));
    const everyone = admin.users.map((u) => [u.username, u.username]);
    options($("reset-user"), everyone);
    options($("assign-clinician"), admin.users.filter((u) => u.role === "clinician").map((u) => [u.username, u.username]));
    options($("assign-person"), admin.users.filter((u) => u.person_id !== null).map((u) => [u.username, u.username]));
    options($("audit-person"), [...names].map(([id, name]) => [id, name]), ["", "Every person"]);
  }

  function userForm() {
    $("user-role").addEventListener("change", () => { $("user-own").checked = $("user-role").value !== "clinician"; });
    $("user-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const username = $("user-name").value.trim(), password = $("user-password").value;
      if (!username || !password) { auth().showError("user-error", "Please type a user name and a password."); return; }
      auth().showError("user-error", "");
      const role = $("user-role").value;
      const result = await auth().post("/api/admin/users", { username, password, role, own_data: $("user-own").checked });
      if (!result.ok) { auth().showError("user-error", auth().refusalText(result, "try again")); return; }
      $("user-form").reset();
      say(`${username} (${role}) is added and can sign in now.`);
      await loadUsers();
    });
  }

  function resetForm() {
    $("reset-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const user = $("reset-user").value, password = $("reset-password").value;
      if (!user || !password) { say("Please choose the account and type the new password."); return; }
      if (await act(user, { action: "reset-password", password },
        `${user} has a new password; their sign-ins have ended. Tell them the new password in person.`)) $("reset-password").value = "";
    });
  }

  function assignForm() {
    for (const [id, action] of [["assign-add", "assign"], ["assign-remove", "unassign"]]) {
      $(id).addEventListener("click", async () => {
        const clinician = $("assign-clinician").value, person = $("assign-person").value;
        if (!clinician || !person) { say("Please choose a clinician and a person (add a clinician account first)."); return; }
        await act(clinician, { action, person }, action === "assign"
          ? `${clinician} now follows ${person} (reads their data, changes nothing).`
          : `${clinician} no longer follows ${person}.`);
      });
    }
  }

  // Audit log -------------------------------------------------------------------------------------
  function auditQuery(extra = {}) {
    const query = new URLSearchParams();
    if ($("audit-person").value) query.set("of_person", $("audit-person").value);
    for (const [key, value] of Object.entries(extra)) query.set(key, String(value));
    const text = query.toString();
    return text ? `?${text}` : "";
  }

  async function loadAudit(more = false) {
    const extra = { limit: PAGE };
    if (more && admin.oldest !== null) extra.before = admin.oldest;
    const result = await getJson(`/api/admin/audit${auditQuery(extra)}`);
    if (!result.ok || !Array.isArray(result.data)) { say(auth().refusalText(result, "reload the page")); return; }
    const names = personNames();
    const rows = result.data.map((e) => el("tr", {},
      el("td", {}, el("time", { datetime: e.at_utc, text: new Date(e.at_utc).toLocaleString([], { dateStyle: "short", timeStyle: "medium" }) })),
      el("td", { text: e.username || "–" }), el("td", { text: e.action }),
      el("td", { text: e.person_id === null ? "–" : names.get(e.person_id) || `person ${e.person_id}` }),
      el("td", { text: e.route }), el("td", { text: e.detail || "" })));
    const body = $("audit-table").tBodies[0];
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    if (result.data.length) admin.oldest = result.data[result.data.length - 1].id;
    $("audit-more").hidden = result.data.length < PAGE;
    $("audit-empty").hidden = body.rows.length > 0;
    $("audit-csv").href = `/api/admin/audit.csv${auditQuery()}`;
  }

  async function show(me) {
    auth().showView("admin");
    if (me.role !== "admin") {
      $("admin-content").hidden = true;
      say("Only an admin of this server sees users and the audit log.");
      return;
    }
    userForm();
    resetForm();
    assignForm();
    $("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); admin.oldest = null; loadAudit(); });
    $("audit-more").addEventListener("click", () => loadAudit(true));
    await loadUsers();
    await loadAudit();
  }

  window.spinecoachAdmin = { show };
})();
