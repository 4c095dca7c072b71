// spinecoach live devices on the sensor check: which sensors the server hears (phones
// pushing or polled, Bluetooth sensors), their connection state and signal quality,
// where each is worn, and forms to connect phyphox or a Bluetooth sensor. Polls
// GET /api/devices once a second while shown; nothing else is fetched.
"use strict";

const spinecoachDevices = (() => {
  const $ = (id) => document.getElementById(id);
  const STATE_TEXT = {
    connecting: "connecting", connected: "connected", reconnecting: "reconnecting",
    disconnected: "disconnected", failed: "not working",
  };
  const PLACEMENT_TEXT = { lower: "lower sensor (sacrum)", upper: "upper sensor (T12/L1)" };
  let timer = null;
  let onReady = () => {};
  let lastDevices = [];

  function placed(devices) {
    return devices.filter((d) => d.placement && d.samples > 0 && d.quality !== "no data");
  }

  function line(d) {
    const rate = d.rate_hz ? `, ${d.rate_hz} Hz` : "";
    const gaps = d.gaps ? `, ${d.gaps} gap${d.gaps > 1 ? "s" : ""} (${d.lost_s} s lost)` : "";
    return `${STATE_TEXT[d.state] || d.state}${rate}${gaps}`;
  }

  function render(devices) {
    const list = $("device-list");
    // Re-render only what changed, so a select being used keeps its focus.
    const ids = devices.map((d) => d.id).join("|");
    if (list.dataset.ids !== ids) {
      list.replaceChildren();
      list.dataset.ids = ids;
      for (const d of devices) {
        const item = document.createElement("li");
        item.className = "device";
        item.dataset.device = d.id;
        const selectId = `place-${d.id.replace(/[^a-zA-Z0-9_-]/g, "_")}`;
        item.innerHTML = "<h2></h2><p class='device-state'></p><p class='device-detail hint'></p>" +
          "<p>Signal quality: <strong class='device-quality'></strong> <span class='device-reason hint'></span></p>" +
          `<label for='${selectId}'>Worn as</label> <select id='${selectId}' class='device-placement'>` +
          "<option value=''>not used</option><option value='lower'>lower sensor (sacrum)</option>" +
          "<option value='upper'>upper sensor (T12/L1)</option></select>";
        item.querySelector("h2").textContent = d.name;
        item.querySelector("select").addEventListener("change", (event) => place(d.id, event.target.value));
        list.appendChild(item);
      }
    }
    for (const d of devices) {
      const item = list.querySelector(`[data-device="${CSS.escape(d.id)}"]`);
      if (!item) continue;
      item.querySelector(".device-state").textContent = line(d);
      item.querySelector(".device-detail").textContent = d.detail;
      const quality = item.querySelector(".device-quality");
      quality.textContent = d.quality;
      quality.className = `device-quality quality-${d.quality.replace(" ", "-")}`;
      item.querySelector(".device-reason").textContent = `(${d.quality_reason})`;
      const select = item.querySelector("select");
      if (document.activeElement !== select) select.value = d.placement || "";
    }
    const ready = placed(devices);
    let text;
    if (!devices.length) {
      text = "No sensor yet. Connect a phone or a Bluetooth sensor below.";
    } else if (!ready.length) {
      text = "Say where each sensor is worn, and start it sending.";
    } else {
      text = "Ready: " + ready.map((d) => `${PLACEMENT_TEXT[d.placement]} = ${d.name}`).join("; ") + ".";
    }
    $("device-summary").textContent = text;
    onReady(ready.length > 0);
  }

  async function refresh() {
    try {
      const response = await fetch("/api/devices");
      const body = await response.json();
      lastDevices = body.devices;
      render(body.devices);
      $("push-url").textContent = body.phone.sensor_logger_url + (body.phone.token_required ? "?token=…" : "");
      $("push-advice").textContent = body.phone.advice;
      const line = $("device-line");
      if (!line.hidden || document.getElementById("view-session").hidden === false) {
        const used = body.devices.filter((d) => d.placement);
        line.textContent = used.map((d) =>
          `${d.placement === "lower" ? "Lower" : "Upper"}: ${d.name} — ${STATE_TEXT[d.state] || d.state}, signal ${d.quality}`).join(" · ");
      }
    } catch (error) {
      $("device-summary").textContent = "Cannot reach the coach's server — is it still running?";
      onReady(false);
    }
  }

  async function place(id, placement) {
    const response = await fetch(`/api/devices/${encodeURIComponent(id)}/placement`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ placement: placement || null }),
    });
    if (!response.ok) $("device-message").textContent = await problem(response);
    await refresh();
  }

  async function problem(response) {
    try {
      const body = await response.json();
      const d = body.detail;
      if (d && d.problem) return `${d.problem}. ${d.fix}`;
      if (Array.isArray(d)) return d.map((e) => e.msg).join("; ");
      return String(d);
    } catch (error) { return `The server answered ${response.status}.`; }
  }

  async function connect(path, body) {
    $("device-message").textContent = "Connecting…";
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    $("device-message").textContent = response.ok
      ? "Started; its state shows in the list above." : await problem(response);
    await refresh();
  }

  $("phyphox-connect").addEventListener("click", () => connect("/api/devices/phyphox",
    { url: $("phyphox-url").value, placement: $("phyphox-placement").value }));
  $("ble-connect").addEventListener("click", () => connect("/api/devices/ble",
    { address: $("ble-address").value.trim(), placement: $("ble-placement").value }));

  return {
    start(ready) {
      onReady = ready;
      $("sim-check").hidden = true;
      $("device-check").hidden = false;
      refresh();
      if (timer === null) timer = setInterval(refresh, 1000);
    },
    // During the session: a one-line status of the sensors in use, refreshed every second.
    follow() {
      onReady = () => {};
      $("device-line").hidden = false;
      if (timer === null) timer = setInterval(refresh, 1000);
      refresh();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      $("device-line").hidden = true;
    },
    devices() { return lastDevices; },
  };
})();
window.spinecoachDevices = spinecoachDevices;
