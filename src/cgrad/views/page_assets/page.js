// cgrad's page: steps through the forward pass (each node's value, in
// topological order) and the backward pass (each node's gradient, and on
// each edge its local derivative and the product it sends), and highlights
// the paths from the output to an input. Every number and caption comes
// from the JSON that cgrad wrote into the page; this only shows them.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("cgrad-data").textContent);
  const steps = data.steps;
  const svg = document.querySelector("svg.cgrad-graph");
  const nodes = new Map();
  svg.querySelectorAll("g.node").forEach((g) => nodes.set(Number(g.dataset.node), g));
  const edges = [];
  const labels = [];
  svg.querySelectorAll("path.edge").forEach((p) => { edges[Number(p.dataset.edge)] = p; });
  svg.querySelectorAll("text.edge-label").forEach((t) => { labels[Number(t.dataset.edge)] = t; });
  // The way up an operand's long edges share: on a path when one of them is.
  const trunks = new Map();
  svg.querySelectorAll("path.trunk").forEach((p) => trunks.set(Number(p.dataset.from), p));
  nodes.get(data.output).scrollIntoView({ block: "nearest", inline: "center" });
  (data.warnings || []).forEach((id) => { if (nodes.has(id)) nodes.get(id).classList.add("warned"); });
  if (!steps.length) return; // a drawing without values: nothing to step through

  const NON_FINITE = new Set(["NaN", "Infinity", "-Infinity"]);
  const caption = document.getElementById("caption");
  const counter = document.getElementById("counter");
  const forwardCount = steps.filter((s) => s.pass === "forward").length;
  let shown = 0; // how many steps are shown
  let timer = null;

  function setNumber(g, name, text, full) {
    const span = g.querySelector("tspan." + name);
    span.textContent = text;
    if (full === null) span.removeAttribute("data-" + name);
    else span.setAttribute("data-" + name, full);
  }

  const forwardOf = new Map(); // node -> its forward step, to undo a backward one
  steps.forEach((s) => { if (s.pass === "forward") forwardOf.set(s.node, s); });
  let current = []; // the elements marked as the current step's

  // One step at a time, forward (apply) or back (undo): a press costs the
  // step's own work, whatever the step number.
  function apply(step) {
    const g = nodes.get(step.node);
    if (step.pass === "forward") {
      setNumber(g, "value", "= " + step.short, step.value);
      g.classList.add("computed");
      if (NON_FINITE.has(step.value)) g.classList.add("nonfinite");
    } else {
      setNumber(g, "grad", "grad " + step.short, step.grad);
      if (NON_FINITE.has(step.grad)) g.classList.add("nonfinite");
      step.sends.forEach(([edge, local, product, localShort, productShort]) => {
        labels[edge].textContent = "∂ " + localShort + " → " + productShort;
        labels[edge].setAttribute("data-local", local);
        labels[edge].setAttribute("data-product", product);
        edges[edge].classList.add("sent");
      });
    }
  }

  function undo(step) {
    const g = nodes.get(step.node);
    if (step.pass === "forward") {
      setNumber(g, "value", "", null);
      g.classList.remove("computed", "nonfinite");
    } else {
      setNumber(g, "grad", "", null);
      const forward = forwardOf.get(step.node);
      g.classList.toggle("nonfinite", forward !== undefined && NON_FINITE.has(forward.value));
      step.sends.forEach(([edge]) => {
        labels[edge].textContent = "";
        labels[edge].removeAttribute("data-local");
        labels[edge].removeAttribute("data-product");
        edges[edge].classList.remove("sent");
      });
    }
  }

  function markCurrent() {
    current.forEach((element) => element.classList.remove("current"));
    current = [];
    if (shown === 0) return;
    const step = steps[shown - 1];
    const g = nodes.get(step.node);
    current.push(g);
    if (step.pass === "backward") step.sends.forEach(([edge]) => current.push(edges[edge]));
    current.forEach((element) => element.classList.add("current"));
    // A big graph is bigger than the window: keep the step in view.
    g.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function render() {
    markCurrent();
    const pass = shown === 0 ? "" : shown <= forwardCount ? " (forward pass)" : " (backward pass)";
    counter.textContent = "step " + shown + " of " + steps.length + pass;
    counter.setAttribute("data-step", String(shown));
    caption.textContent = shown === 0
      ? "Press next (or the right arrow key) to start the forward pass."
      : steps[shown - 1].caption;
    document.getElementById("prev").disabled = shown === 0;
    document.getElementById("next").disabled = shown === steps.length;
  }

  function go(to) {
    to = Math.max(0, Math.min(steps.length, to));
    while (shown < to) apply(steps[shown++]);
    while (shown > to) undo(steps[--shown]);
    render();
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    document.getElementById("play").textContent = "▶ play";
  }

  function play() {
    if (timer !== null) { stop(); return; }
    if (shown === steps.length) go(0);
    document.getElementById("play").textContent = "⏸ pause";
    timer = setInterval(() => {
      if (shown >= steps.length) stop();
      else go(shown + 1);
    }, 600);
  }

  document.getElementById("first").addEventListener("click", () => { stop(); go(0); });
  document.getElementById("prev").addEventListener("click", () => { stop(); go(shown - 1); });
  document.getElementById("next").addEventListener("click", () => { stop(); go(shown + 1); });
  document.getElementById("last").addEventListener("click", () => { stop(); go(steps.length); });
  document.getElementById("play").addEventListener("click", play);
  // The keys step and play whatever has focus (a button just clicked, the
  // paths list just chosen from), except a field that takes text, and
  // the browser's own action for them (pressing the button again, changing
  // the choice, scrolling) is stopped. The capture phase sees them first.
  function typing(element) {
    const tag = element.tagName;
    return tag === "TEXTAREA" || element.isContentEditable ||
      (tag === "INPUT" && !["button", "checkbox", "radio", "range"].includes(element.type));
  }
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    const moves = { ArrowRight: shown + 1, ArrowLeft: shown - 1, Home: 0, End: steps.length };
    if (event.key in moves) { stop(); go(moves[event.key]); event.preventDefault(); }
    else if (event.key === " ") { if (!event.repeat) play(); event.preventDefault(); }
  }, true);
  // A button is pressed by space when the key comes up: not this one.
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && !typing(event.target)) event.preventDefault();
  }, true);

  // The paths view: the edges on some path from the output down to one input.
  const select = document.getElementById("paths");
  const panel = document.getElementById("paths-panel");
  Object.keys(data.paths).forEach((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.appendChild(option);
  });

  function showPaths(name) {
    nodes.forEach((g) => g.classList.remove("on-path"));
    edges.forEach((p) => p.classList.remove("on-path"));
    trunks.forEach((p) => p.classList.remove("on-path"));
    panel.textContent = "";
    if (!name) return;
    const found = data.paths[name];
    const reaches = new Map([[found.input, true]]); // does a node reach the input?
    // One pass is enough: data.edges comes by consumer id (layout.edges),
    // and a consumer's id is above its operands', so a node's operands are
    // settled before its own edges are read.
    data.edges.forEach(([from, to]) => {
      if (reaches.get(from) && data.reachable[to]) reaches.set(to, true);
    });
    data.edges.forEach(([from, to], index) => {
      if (reaches.get(from) && reaches.get(to)) {
        edges[index].classList.add("on-path");
        if (trunks.has(from)) trunks.get(from).classList.add("on-path");
        nodes.get(from).classList.add("on-path");
        nodes.get(to).classList.add("on-path");
      }
    });
    const head = document.createElement("p");
    head.textContent = found.count + " path" + (found.count === "1" ? "" : "s") +
      " from the output to " + name + "; along a path the local derivatives multiply, " +
      "and the paths add up to ∂f/∂" + name + " = " + found.gradient;
    const list = document.createElement("ol");
    found.shown.forEach((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    panel.append(head, list);
  }

  select.addEventListener("change", () => showPaths(select.value));
  if (data.selected) {
    select.value = data.selected;
    showPaths(data.selected);
  }
  render();
})();
