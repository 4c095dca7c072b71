// spinecoach page helpers shared by today.js and progress.js: building elements, the
// person's time zone on API calls, and the program's advice in plain words (a decision's
// reasons with their sources apart in small type, the suggestions). Loaded before the page
// scripts; nothing fetched beyond this server. spinecoach is a coaching tool, not a
// medical device.
"use strict";

(() => {
  const KIND_TEXT = { progress: "Step up", hold: "Keep going", regress: "Step back",
    "stop-refer": "Pause and see a clinician" };

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function zone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch { return ""; }
  }

  // GET path with ?tz= (or &tz=); a network failure is {ok: false, status: 0}.
  async function getJson(path) {
    const tz = zone();
    const url = tz ? `${path}${path.includes("?") ? "&" : "?"}tz=${encodeURIComponent(tz)}` : path;
    try {
      const response = await fetch(url);
      const data = await response.json().catch(() => ({}));
      return { ok: response.ok, status: response.status, data };
    } catch {
      return { ok: false, status: 0, data: {} };
    }
  }

  // One reason: its sentence, then where its threshold comes from in small type.
  function reasonItem(reason) {
    const item = el("li", { text: reason.text });
    const sources = reason.sources || [];
    if (sources.length) item.append(" ", el("small", { class: "reason-source", text: `Source: ${sources.join("; ")}` }));
    return item;
  }

  function suggestionList(suggestions) {
    const list = el("ul", { class: "suggestions", "aria-label": "Suggestions" });
    for (const s of suggestions) {
      const why = el("span", { class: "why", text: `Why: ${s.why.text}` });
      const sources = s.why.sources || [];
      if (sources.length) why.append(" ", el("small", { class: "reason-source", text: `Source: ${sources.join("; ")}` }));
      list.append(el("li", { class: `suggestion suggestion-${s.kind}` }, el("strong", { text: s.title }), why));
    }
    return list;
  }

  function decisionBlock(last) {
    const reasons = el("ul", { class: "reasons" });
    for (const r of last.reasons) reasons.append(reasonItem(r));
    return el("div", { class: `decision decision-${last.kind}` },
      el("h3", { text: `Last decision (day ${last.day ?? "–"}): ${KIND_TEXT[last.kind] || last.kind}` }), reasons);
  }

  window.spinecoachUI = { el, zone, getJson, reasonItem, suggestionList, decisionBlock, KIND_TEXT };
})();
