/* Demonstrations (issue 15 item 8): an animated figure of each technique, drawn from the
 * simulator's body model (GET /api/techniques/{id}/demo: one rep as keyframes of 2-D
 * joint positions, with the phase, its cue and the breath), next to the steps in plain
 * words.
 *
 * Every <div class="demo" data-technique="ID"></div> in the page is filled (also the ones
 * views add later: a MutationObserver watches the page); data-position="seated" asks for
 * another start position, data-steps="folded" folds the steps under a "Step by step"
 * switch. window.spinecoachDemo.mount(element, techniqueId) fills one by
 * hand. With prefers-reduced-motion the figure does not move: the key poses are shown as
 * still pictures side by side instead. No video, no network beyond our own server.
 * window.spinecoachDemo.names() gives the plain names of techniques, positions and
 * faults by id ({techniques, positions, faults: {technique: {fault: label}}}). */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const loaded = new Map(); // "id|position" -> Promise of the demo JSON
  const PHASE_WORDS = {
    rest: "Rest", start: "Move", hold: "Hold", release: "Come back", extend: "Lean back",
    extension_hold: "Hold", inhale: "Breathe in", exhale: "Breathe out",
  };
  const BREATH_WORDS = { in: "Breathe in", out: "Breathe out" };

  function load(techniqueId, position) {
    const key = `${techniqueId}|${position || ""}`;
    if (!loaded.has(key)) {
      const query = position ? `?position=${encodeURIComponent(position)}` : "";
      const url = `/api/techniques/${encodeURIComponent(techniqueId)}/demo${query}`;
      loaded.set(key, fetch(url).then((answer) => {
        if (!answer.ok) throw new Error(`the demonstration answered ${answer.status}`);
        return answer.json();
      }));
      loaded.get(key).catch(() => loaded.delete(key)); // a later mount may try again
    }
    return loaded.get(key);
  }

  function node(name, attributes, parent) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, value);
    if (parent) parent.appendChild(element);
    return element;
  }

  function html(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  // The figure's view box (m; y up in the data, down in SVG) around every frame and prop.
  function bounds(demo) {
    const r = demo.head_radius_m;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const frame of demo.frames) {
      for (const [x, y] of frame.points) {
        x0 = Math.min(x0, x - r); x1 = Math.max(x1, x + r);
        y0 = Math.min(y0, y - r); y1 = Math.max(y1, y + r);
      }
    }
    for (const [a, b, c, d] of Object.values(demo.props)) {
      x0 = Math.min(x0, a, c); x1 = Math.max(x1, a, c); y0 = Math.min(y0, b, d); y1 = Math.max(y1, b, d);
    }
    const pad = 0.06;
    return [x0 - pad, -(y1 + pad), x1 - x0 + 2 * pad, y1 - y0 + 2 * pad];
  }

  // One SVG figure: props, then the body's parts, each updated by draw().
  function figure(demo, label) {
    const svg = node("svg", {
      viewBox: bounds(demo).map((v) => v.toFixed(3)).join(" "),
      class: "demo-svg", role: "img", "aria-label": label,
    });
    const props = node("g", { class: "demo-props" }, svg);
    const { floor, mat, seat } = demo.props;
    if (mat) node("rect", { class: "demo-mat", x: mat[0], y: -mat[3], width: mat[2] - mat[0], height: mat[3] - mat[1] }, props);
    if (seat) node("rect", { class: "demo-seat", x: seat[0], y: -seat[3], width: seat[2] - seat[0], height: seat[3] - seat[1], rx: 0.02 }, props);
    if (floor) node("line", { class: "demo-floor", x1: floor[0], y1: -floor[1], x2: floor[2], y2: -floor[3] }, props);
    const body = node("g", { class: "demo-body" }, svg);
    const parts = {
      belly: node("circle", { class: "demo-belly" }, body),
      leg: node("polyline", { class: "demo-limb" }, body),
      trunk: node("polyline", { class: "demo-trunk" }, body),
      pelvis: node("polygon", { class: "demo-pelvis" }, body),
      arm: node("polyline", { class: "demo-limb" }, body),
      head: node("circle", { class: "demo-head", r: demo.head_radius_m }, body),
    };
    const index = Object.fromEntries(demo.joints.map((name, i) => [name, i]));
    return { svg, parts, index };
  }

  function draw(view, points, breathVolume) {
    const at = (name) => points[view.index[name]];
    const line = (...names) => names.map((n) => `${at(n)[0].toFixed(4)},${(-at(n)[1]).toFixed(4)}`).join(" ");
    const { parts } = view;
    parts.leg.setAttribute("points", line("hip", "knee", "ankle", "toe"));
    parts.trunk.setAttribute("points", line("l5s1", "t12", "neck"));
    parts.pelvis.setAttribute("points", line("l5s1", "asis", "pubis", "coccyx"));
    parts.arm.setAttribute("points", line("shoulder", "elbow", "wrist"));
    const head = at("head");
    parts.head.setAttribute("cx", head[0].toFixed(4));
    parts.head.setAttribute("cy", (-head[1]).toFixed(4));
    const belly = at("belly");
    parts.belly.setAttribute("cx", belly[0].toFixed(4));
    parts.belly.setAttribute("cy", (-belly[1]).toFixed(4));
    parts.belly.setAttribute("r", (0.045 + 0.035 * breathVolume).toFixed(4));
  }

  function words(frame) {
    return frame.cue || PHASE_WORDS[frame.phase] || "";
  }

  // The steps in plain words; data-steps="folded" on the container folds them under a
  // "Step by step" switch (for a list of cards), else they are shown.
  function steps(demo, folded) {
    const box = html(folded ? "details" : "div", "demo-steps");
    box.appendChild(html(folded ? "summary" : "p", "demo-heading", "Step by step"));
    box.appendChild(html("p", "demo-start", `Start: ${demo.start_position}`));
    const list = html("ol", "demo-instructions");
    for (const step of demo.instructions) list.appendChild(html("li", "", step));
    box.appendChild(list);
    box.appendChild(html("p", "demo-breathing", demo.breathing_note));
    return box;
  }

  // The moving figure: requestAnimationFrame, interpolating between the frames.
  function animated(element, demo, owner) {
    const holder = html("figure", "demo-figure");
    const view = figure(demo, `${demo.title}, ${demo.position_label}: a moving figure showing one repetition`);
    holder.appendChild(view.svg);
    const caption = html("figcaption", "demo-caption");
    const breath = html("span", "demo-breath");
    const cue = html("span", "demo-cue");
    caption.append(breath, cue);
    holder.appendChild(caption);
    const toggle = html("button", "demo-toggle", "Pause");
    toggle.type = "button";
    holder.appendChild(toggle);
    element.appendChild(holder);

    const frames = demo.frames;
    const rate = demo.frame_rate_hz;
    const duration = frames[frames.length - 1].t_s;
    let playing = true, visible = true, running = false;
    let shownT = 0, startedAt = null, lastWords = null, lastBreath = null;
    function kick() {
      if (running || !playing || !visible) return;
      running = true;
      startedAt = null; // go on from the moment shown
      requestAnimationFrame(tick);
    }
    toggle.addEventListener("click", () => {
      playing = !playing;
      toggle.textContent = playing ? "Pause" : "Play";
      holder.classList.toggle("demo-paused", !playing);
      kick();
    });
    // Only a figure on screen is drawn (a list of cards may hold several).
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        visible = entries[entries.length - 1].isIntersecting;
        kick();
      }).observe(holder);
    }

    function show(t) {
      const position = Math.min(t * rate, frames.length - 1);
      const i = Math.floor(position), next = Math.min(i + 1, frames.length - 1), a = position - i;
      const p = frames[i].points.map(([x, y], k) => {
        const [x2, y2] = frames[next].points[k];
        return [x + a * (x2 - x), y + a * (y2 - y)];
      });
      const volume = frames[i].breath_volume + a * (frames[next].breath_volume - frames[i].breath_volume);
      draw(view, p, volume);
      const text = words(frames[i]);
      if (text !== lastWords) { cue.textContent = text; lastWords = text; }
      const b = frames[i].breath;
      if (b !== "still" && b !== lastBreath) {
        breath.textContent = BREATH_WORDS[b];
        breath.dataset.breath = b;
        lastBreath = b;
      }
    }

    function tick(now) {
      // Stops when the view is gone, paused, off screen, or redrawn (reduced motion on).
      if (!holder.isConnected || !playing || !visible || owner.dataset.demoMode !== "animated") {
        running = false;
        return;
      }
      if (startedAt === null) startedAt = now - shownT * 1000;
      shownT = ((now - startedAt) / 1000) % duration;
      show(shownT);
      requestAnimationFrame(tick);
    }
    const firstBreath = frames.find((f) => f.breath !== "still");
    if (firstBreath) { breath.textContent = BREATH_WORDS[firstBreath.breath]; breath.dataset.breath = firstBreath.breath; }
    show(0);
    kick();
  }

  // Reduced motion: the key poses side by side, still, each with its words.
  function stills(element, demo) {
    const row = html("div", "demo-stills");
    demo.key_frames.forEach((index, n) => {
      const frame = demo.frames[index];
      const holder = html("figure", "demo-figure demo-still");
      const view = figure(demo, `${demo.title}, ${demo.position_label}: picture ${n + 1} of ${demo.key_frames.length}`);
      draw(view, frame.points, frame.breath_volume);
      holder.appendChild(view.svg);
      const caption = demo.key_captions[n] || words(frame);
      holder.appendChild(html("figcaption", "demo-caption", `${n + 1}. ${caption}`));
      row.appendChild(holder);
    });
    element.appendChild(row);
  }

  function render(element, demo) {
    element.replaceChildren();
    element.dataset.demoMode = reducedMotion.matches ? "still" : "animated";
    const box = html("div", "demo-box");
    element.appendChild(box);
    if (reducedMotion.matches) stills(box, demo); else animated(box, demo, element);
    element.appendChild(steps(demo, element.dataset.steps === "folded"));
  }

  function mount(element, techniqueId) {
    const id = techniqueId || element.dataset.technique;
    const position = element.dataset.position || "";
    element.dataset.technique = id;
    element.dataset.demoMounted = `${id}|${position}`;
    element.classList.add("demo");
    element.setAttribute("aria-busy", "true");
    return load(id, position).then((demo) => {
      if (element.dataset.demoMounted !== `${id}|${position}`) return; // remounted meanwhile
      render(element, demo);
      element.removeAttribute("aria-busy");
      element._spinecoachDemo = demo;
    }).catch(() => {
      element.replaceChildren(html("p", "demo-error", "The demonstration could not be loaded. The steps are in the technique's description."));
      element.removeAttribute("aria-busy");
    });
  }

  function scan(root) {
    const found = root.querySelectorAll ? root.querySelectorAll(".demo[data-technique]") : [];
    for (const element of found) {
      const want = `${element.dataset.technique}|${element.dataset.position || ""}`;
      if (element.dataset.demoMounted !== want) mount(element, element.dataset.technique);
    }
  }

  reducedMotion.addEventListener("change", () => {
    for (const element of document.querySelectorAll(".demo[data-demo-mode]")) {
      if (element._spinecoachDemo) render(element, element._spinecoachDemo);
    }
  });

  function start() {
    scan(document);
    new MutationObserver(() => scan(document)).observe(document.body, {
      childList: true, subtree: true, attributes: true,
      attributeFilter: ["data-technique", "data-position"],
    });
  }

  // Plain names for any view: technique titles, position and fault labels by id, from
  // the catalogue (GET /api/techniques, /api/positions), loaded once.
  let namesLoaded = null;
  function names() {
    if (!namesLoaded) {
      const json = (url) => fetch(url).then((answer) => {
        if (!answer.ok) throw new Error(`${url} answered ${answer.status}`);
        return answer.json();
      });
      namesLoaded = Promise.all([json("/api/techniques"), json("/api/positions")]).then(([techniques, positions]) => ({
        techniques: Object.fromEntries(techniques.map((t) => [t.name, t.title])),
        positions: Object.fromEntries(positions.positions.map((p) => [p.id, p.label])),
        faults: Object.fromEntries(techniques.map((t) => [t.name, Object.fromEntries(t.faults.map((f) => [f.id, f.label]))])),
      }));
      namesLoaded.catch(() => { namesLoaded = null; });
    }
    return namesLoaded;
  }

  window.spinecoachDemo = { mount, load, names };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
