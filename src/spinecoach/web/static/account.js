// spinecoach "My account" (/account, issue 16): change the password, and the person's
// device tokens (the phones and sensors that push data: GET/POST/DELETE
// /api/devices/tokens). A new token's secret is shown once, with its push URL and a QR
// code of that URL; the server keeps only a hash of it. static/auth.js calls
// spinecoachAccount.show(me) once it knows who is signed in.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { el } = window.spinecoachUI;
  const auth = () => window.spinecoachAuth;

  function when(utc) {
    if (!utc) return "never";
    const date = new Date(utc);
    return Number.isNaN(date.getTime()) ? utc : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function passwordForm() {
    $("password-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const current = $("password-current").value, fresh = $("password-new").value, again = $("password-again").value;
      $("password-saved").textContent = "";
      if (!current || !fresh) { auth().showError("password-error", "Please type your current password and a new one."); return; }
      if (fresh !== again) {
        auth().showError("password-error", "The two new passwords differ. Please type the same new password twice.");
        $("password-again").focus();
        return;
      }
      auth().showError("password-error", "");
      $("password-submit").disabled = true;
      const result = await auth().post("/api/auth/password", { current_password: current, new_password: fresh });
      $("password-submit").disabled = false;
      if (!result.ok) {
        auth().showError("password-error", auth().refusalText(result, "try again"));
        return;
      }
      $("password-form").reset();
      $("password-saved").textContent = "Password changed. You stay signed in here; your other sign-ins have ended.";
    });
  }

  // Device tokens ----------------------------------------------------------------------------
  /** The server's QR code (an SVG document) as an element: parsed as XML, scripts dropped. */
  function qrElement(svgText) {
    // Parsed as HTML: an inline <svg> without xmlns lands in the SVG namespace (as XML it
    // would be an unknown element showing only its title). Nothing parsed here runs.
    const doc = new DOMParser().parseFromString(String(svgText || ""), "text/html");
    const svg = doc.body.querySelector("svg");
    if (!svg) return el("p", { class: "hint", text: "No QR code: type the push URL instead." });
    for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
    for (const node of [svg, ...svg.querySelectorAll("*")]) {
      for (const attr of [...node.attributes]) {
        if (/^on/i.test(attr.name) || attr.name === "style") node.removeAttribute(attr.name);
      }
    }
    const image = document.importNode(svg, true);
    image.setAttribute("role", "img");
    image.setAttribute("aria-label", "QR code of the push URL");
    image.classList.add("qr");
    return image;
  }

  function copyButton(label, text) {
    const button = el("button", { type: "button", class: "copy", text: `Copy ${label}` });
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text);
        $("token-copied").textContent = `${label.charAt(0).toUpperCase() + label.slice(1)} copied.`;
      } catch {
        $("token-copied").textContent = `Could not copy: select the ${label} and copy it by hand.`;
      }
    });
    return button;
  }

  function showNewToken(made) {
    const box = $("token-new");
    const header = made.auth_header || `Bearer ${made.secret}`;
    box.replaceChildren(
      el("h3", { text: `Token for ${made.token.name}` }),
      el("p", { class: "alert", text: "Shown once: copy the token now. The server keeps only a scrambled form of it and cannot show it again." }),
      el("figure", { class: "qr-box" }, qrElement(made.qr_svg),
        el("figcaption", { text: "Scan this with the phone to fill in the push URL." })),
      el("dl", { class: "token-facts" },
        el("dt", { text: "Push URL" }), el("dd", {}, el("code", { id: "token-url", text: made.push_url }), " ", copyButton("push URL", made.push_url)),
        el("dt", { text: "Token" }), el("dd", {}, el("code", { id: "token-secret", text: made.secret }), " ", copyButton("token", made.secret)),
        el("dt", { text: "Auth header" }), el("dd", {}, el("code", { id: "token-header", text: header }), " ", copyButton("auth header", header))),
      el("p", { class: "hint", text: "In Sensor Logger: Settings → Data Streaming → HTTP Push. Enter the push URL, and the auth header above in its Auth Header field." }),
      el("p", { id: "token-copied", class: "hint", role: "status" }));
    const done = el("button", { type: "button", id: "token-done", text: "Done: hide the token" });
    done.addEventListener("click", () => { box.replaceChildren(); box.hidden = true; $("token-name").focus(); });
    box.append(done);
    box.hidden = false;
    box.querySelector("h3").setAttribute("tabindex", "-1");
    box.querySelector("h3").focus();
  }

  function tokenRow(token) {
    const state = token.revoked ? "revoked" : "in use";
    const cells = [token.name, when(token.created_utc), when(token.last_used_utc), state].map((text) => el("td", { text }));
    const action = el("td");
    if (!token.revoked) {
      const button = el("button", { type: "button", class: "revoke", text: "Revoke", "aria-label": `Revoke the token ${token.name}` });
      button.addEventListener("click", async () => {
        button.disabled = true;
        const result = await auth().post(`/api/devices/tokens/${encodeURIComponent(token.id)}`, undefined, "DELETE");
        $("tokens-status").textContent = result.ok
          ? `The token ${token.name} is revoked: that device can no longer send data.`
          : auth().refusalText(result, "try again");
        await loadTokens();
      });
      action.append(button);
    }
    return el("tr", { "data-token": String(token.id) }, ...cells, action);
  }

  async function loadTokens() {
    let result;
    try {
      const response = await fetch("/api/devices/tokens");
      result = { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
    } catch {
      result = { ok: false, status: 0, data: {} };
    }
    const body = $("token-table").tBodies[0];
    if (!result.ok || !Array.isArray(result.data)) {
      body.replaceChildren();
      $("tokens-status").textContent = auth().refusalText(result, "reload the page");
      return;
    }
    body.replaceChildren(...result.data.map(tokenRow));
    $("token-table").hidden = !result.data.length;
    $("tokens-empty").hidden = result.data.length > 0;
  }

  function tokenForm() {
    $("token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = $("token-name").value.trim();
      if (!name) { auth().showError("token-error", "Please name the phone or sensor, for example “my phone”."); return; }
      auth().showError("token-error", "");
      $("token-submit").disabled = true;
      const result = await auth().post("/api/devices/tokens", { name });
      $("token-submit").disabled = false;
      if (!result.ok) { auth().showError("token-error", auth().refusalText(result, "try again")); return; }
      $("token-name").value = "";
      showNewToken(result.data);
      await loadTokens();
    });
  }

  function show(me) {
    auth().showView("account");
    $("account-summary").textContent = `Signed in as ${me.username} (${me.role}).`;
    passwordForm();
    $("tokens-box").hidden = !me.person_id;  // tokens push the account's own data
    if (me.person_id) { tokenForm(); loadTokens(); }
  }

  window.spinecoachAccount = { show };
})();
