/// The behaviour and style of ``CircuitExplorer``: plain inline JavaScript and CSS, no libraries, nothing
/// fetched. The script reads the drawing's `data-*` attributes (see ``CircuitExplorer``) and sets up every
/// `figure.circuit-explorer` of the page:
///
/// - the slider runs over the number of edges shown, on a log scale (1 … all), revealing edges in rank
///   order; the status shows the count and the smallest |score| shown, and the figure's `data-visible`;
/// - nodes none of whose edges show are faded;
/// - the drawing is as tall as the window allows and fits in it at first; drag pans, the wheel zooms around
///   the pointer, `+` `−` `fit` buttons do the same; labels keep a readable size when zoomed out;
/// - hovering an edge shows its name, kind, score and rank; hovering a node its shown edges;
/// - clicking a node keeps only the shown edges on its paths to the logits and from the input; clicking
///   the background or `clear` undoes it;
/// - the search field marks nodes whose name starts with the text and, on Enter, selects and centres the
///   node of that name (or the first match).
enum CircuitExplorerScript {
    static let script = #"""
    (function () {
      "use strict";
      var kinds = { q: "query", k: "key", v: "value", mlp: "MLP", logits: "logits" };
      var lists = 0;

      function format(x) {
        if (x === null) return "none";
        var a = Math.abs(x);
        if (!isFinite(a)) return String(x);
        return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : String(+x.toPrecision(3));
      }

      function each(list, f) { Array.prototype.forEach.call(list, f); }

      function setUp(figure) {
        var svg = figure.querySelector("svg.cx-canvas"), scene = svg.querySelector(".cx-scene");
        var slider = figure.querySelector(".cx-slider"), status = figure.querySelector(".cx-status");
        var search = figure.querySelector(".cx-search"), tooltip = figure.querySelector(".cx-tooltip");
        var width = +svg.getAttribute("data-width"), height = +svg.getAttribute("data-height");
        var nodes = [], edges = [], shown = 0, selected = null, view = { x: 0, y: 0, k: 1 }, drag = null, dragged = false;

        each(svg.querySelectorAll(".cx-node"), function (el) {
          var node = { el: el, name: el.getAttribute("data-name"), x: +el.getAttribute("data-x"), y: +el.getAttribute("data-y"),
                       inputs: [], outputs: [] };
          nodes[+el.getAttribute("data-id")] = node;
          el.cxNode = node;
        });
        each(svg.querySelectorAll(".cx-edge"), function (el) {
          var score = el.getAttribute("data-score");
          var edge = { el: el, rank: +el.getAttribute("data-rank"), name: el.getAttribute("data-name"),
                       kind: el.getAttribute("data-kind"), score: score === "" ? null : Number(score),
                       from: nodes[+el.getAttribute("data-from")],
                       to: el.getAttribute("data-to").split(" ").map(function (id) { return nodes[+id]; }) };
          edges[edge.rank] = edge;
          edge.from.outputs.push(edge);
          edge.to.forEach(function (node) { node.inputs.push(edge); });
          el.cxEdge = edge;
        });
        var input = nodes[0], logits = nodes[nodes.length - 1];

        // The threshold: how many of the strongest edges show.
        function countAt(value) { return edges.length < 2 ? edges.length : Math.max(1, Math.round(Math.pow(edges.length, value / 1000))); }
        function valueOf(count) { return edges.length < 2 ? 1000 : Math.round(1000 * Math.log(Math.max(count, 1)) / Math.log(edges.length)); }
        function isShown(edge) { return edge.rank < shown; }
        function show(count) {
          shown = count;
          nodes.forEach(function (node) { node.active = false; });
          edges.forEach(function (edge) {
            edge.el.classList.toggle("cx-hidden", !isShown(edge));
            if (isShown(edge)) {
              edge.from.active = true;
              edge.to.forEach(function (node) { node.active = true; });
            }
          });
          nodes.forEach(function (node) { node.el.classList.toggle("cx-idle", !node.active); });
          var last = edges[count - 1];
          status.textContent = count + " of " + edges.length + " edges" + (last && last.score !== null && !isNaN(last.score) ? ", |score| ≥ " + format(Math.abs(last.score)) : "");
          figure.setAttribute("data-visible", count);
          if (selected) focus(selected);
        }

        // Paths through a node, over the edges shown.
        function reach(start, step) {
          var seen = new Set([start]), queue = [start];
          while (queue.length) {
            step(queue.pop()).forEach(function (next) {
              if (!seen.has(next)) { seen.add(next); queue.push(next); }
            });
          }
          return seen;
        }
        function forward(node) {
          var next = [];
          node.outputs.forEach(function (edge) { if (isShown(edge)) next.push.apply(next, edge.to); });
          return next;
        }
        function backward(node) { return node.inputs.filter(isShown).map(function (edge) { return edge.from; }); }
        function focus(node) {
          selected = node;
          var after = reach(node, forward), toLogits = reach(logits, backward);
          var before = reach(node, backward), fromInput = reach(input, forward), lit = new Set([node]);
          edges.forEach(function (edge) {
            var down = after.has(edge.from) && toLogits.has(edge.from) && edge.to.some(function (t) { return toLogits.has(t); });
            var up = before.has(edge.from) && fromInput.has(edge.from) && edge.to.some(function (t) { return before.has(t); });
            var on = isShown(edge) && (down || up);
            edge.el.classList.toggle("cx-on", on);
            if (on) {
              lit.add(edge.from);
              edge.to.forEach(function (t) { if ((down && toLogits.has(t)) || (up && before.has(t))) lit.add(t); });
            }
          });
          nodes.forEach(function (n) { n.el.classList.toggle("cx-on", lit.has(n)); });
          figure.classList.add("cx-focused");
          figure.setAttribute("data-selected", node.name);
        }
        function clear() {
          selected = null;
          figure.classList.remove("cx-focused");
          figure.removeAttribute("data-selected");
        }

        // Pan and zoom: one transform on the scene.
        function apply() {
          scene.setAttribute("transform", "translate(" + view.x.toFixed(1) + " " + view.y.toFixed(1) + ") scale(" + view.k.toFixed(4) + ")");
          // Labels keep about 9.5 px on screen while zoomed out, within their boxes.
          svg.style.setProperty("--cx-label", Math.min(22, Math.max(10, 9.5 / view.k)).toFixed(1) + "px");
          svg.style.setProperty("--cx-row-label", Math.min(16, Math.max(10, 9.5 / view.k)).toFixed(1) + "px");
        }
        function fit() {
          var w = svg.clientWidth, h = svg.clientHeight;
          view.k = Math.min(w / width, h / height, 1.25);
          view.x = (w - width * view.k) / 2;
          view.y = (h - height * view.k) / 2;
          apply();
        }
        function zoom(factor, px, py) {
          var k = Math.max(0.05, Math.min(12, view.k * factor));
          view.x = px - (px - view.x) * k / view.k;
          view.y = py - (py - view.y) * k / view.k;
          view.k = k;
          apply();
        }
        function centreOn(node) {
          view.k = Math.max(view.k, 1.5);
          view.x = svg.clientWidth / 2 - node.x * view.k;
          view.y = svg.clientHeight / 2 - node.y * view.k;
          apply();
        }
        svg.addEventListener("wheel", function (ev) {
          ev.preventDefault();
          var box = svg.getBoundingClientRect();
          zoom(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.002)), ev.clientX - box.left, ev.clientY - box.top);
        }, { passive: false });
        svg.addEventListener("pointerdown", function (ev) {
          drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
          dragged = false;
        });
        window.addEventListener("pointermove", function (ev) {
          if (!drag) return;
          var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
          if (Math.abs(dx) + Math.abs(dy) > 3) dragged = true;
          if (dragged) {
            view.x = drag.vx + dx;
            view.y = drag.vy + dy;
            svg.classList.add("cx-dragging");
            apply();
          }
        });
        window.addEventListener("pointerup", function () {
          drag = null;
          svg.classList.remove("cx-dragging");
        });
        svg.addEventListener("click", function (ev) {
          if (dragged) return;
          var el = ev.target.closest(".cx-node");
          if (el) focus(el.cxNode); else clear();
        });

        // Hover.
        function place(ev) {
          var box = svg.getBoundingClientRect();
          tooltip.style.left = (ev.clientX - box.left + 14) + "px";
          tooltip.style.top = (ev.clientY - box.top + 14) + "px";
        }
        svg.addEventListener("mouseover", function (ev) {
          var edgeElement = ev.target.closest(".cx-edge"), nodeElement = ev.target.closest(".cx-node"), text;
          if (edgeElement) {
            var edge = edgeElement.cxEdge;
            edgeElement.classList.add("cx-hover");
            text = edge.name.replace("->", " → ") + "\ninto the " + kinds[edge.kind] + (edge.kind.length === 1 ? " (" + edge.kind + ")" : "") + " input, score " + format(edge.score)
              + "\nrank " + (edge.rank + 1) + " of " + edges.length;
          } else if (nodeElement) {
            var node = nodeElement.cxNode;
            text = node.name + ": " + node.inputs.filter(isShown).length + " edges in, " + node.outputs.filter(isShown).length
              + " out (shown)\nclick for its paths to the logits and from the input";
          } else {
            return;
          }
          tooltip.textContent = text;
          tooltip.hidden = false;
          place(ev);
        });
        svg.addEventListener("mousemove", function (ev) { if (!tooltip.hidden) place(ev); });
        svg.addEventListener("mouseout", function (ev) {
          var el = ev.target.closest(".cx-edge");
          if (el) el.classList.remove("cx-hover");
          tooltip.hidden = true;
        });

        // Search.
        var list = document.createElement("datalist");
        list.id = "cx-nodes-" + (++lists);
        nodes.forEach(function (node) {
          if (!node.el.classList.contains("cx-in")) return;
          var option = document.createElement("option");
          option.value = node.name;
          list.appendChild(option);
        });
        figure.appendChild(list);
        search.setAttribute("list", list.id);
        function matches(text) {
          var q = text.trim().toLowerCase();
          return q === "" ? [] : nodes.filter(function (node) { return node.name.toLowerCase().indexOf(q) === 0; });
        }
        function mark(text) {
          var found = new Set(matches(text));
          nodes.forEach(function (node) { node.el.classList.toggle("cx-match", found.has(node)); });
        }
        search.addEventListener("input", function () { mark(search.value); });
        search.addEventListener("keydown", function (ev) {
          if (ev.key !== "Enter") return;
          var q = search.value.trim().toLowerCase();
          var node = nodes.filter(function (n) { return n.name.toLowerCase() === q; })[0] || matches(q)[0];
          if (node) {
            focus(node);
            centreOn(node);
          } else {
            status.textContent = "no node named " + search.value.trim();
          }
        });

        figure.querySelector(".cx-bar").addEventListener("click", function (ev) {
          var action = ev.target.getAttribute("data-action"), cx = svg.clientWidth / 2, cy = svg.clientHeight / 2;
          if (action === "zoom-in") zoom(1.4, cx, cy);
          else if (action === "zoom-out") zoom(1 / 1.4, cx, cy);
          else if (action === "fit") fit();
          else if (action === "clear") { clear(); search.value = ""; mark(""); }
        });
        slider.addEventListener("input", function () { show(countAt(+slider.value)); });

        // As tall as the window allows, no taller than the whole drawing at the page's width needs.
        svg.style.height = Math.round(Math.max(360, Math.min(window.innerHeight - 90, height * Math.min(1.25, svg.clientWidth / width)))) + "px";
        var initial = +figure.getAttribute("data-initial");
        slider.value = valueOf(initial);
        show(initial);
        fit();
        figure.classList.add("cx-ready");
      }

      each(document.querySelectorAll("figure.circuit-explorer"), setUp);
    })();

    """#

    static let stylesheet = """

    .cx-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; font-size: 13px; margin-bottom: 6px; }
    .cx-slider { width: 240px; vertical-align: middle; }
    .cx-status { font-variant-numeric: tabular-nums; min-width: 26ch; color: #333; }
    .cx-search { width: 20ch; }
    .cx-bar button { min-width: 30px; margin-right: 2px; }
    .cx-legend span { margin-right: 10px; color: #444; white-space: nowrap; }
    .cx-legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 4px; }
    .cx-legend i.cx-dash { background: repeating-linear-gradient(90deg, #666 0 4px, transparent 4px 7px); }
    .cx-viewport { position: relative; border: 1px solid #e2e2e2; border-radius: 4px; background: #fff; }
    svg.cx-canvas { display: block; width: 100%; height: 80vh; cursor: grab; touch-action: none; user-select: none; }
    svg.cx-canvas.cx-dragging { cursor: grabbing; }
    .cx-edge { fill: none; stroke-linecap: round; vector-effect: non-scaling-stroke; }
    .cx-edge.cx-hidden { display: none; }
    .cx-edge.cx-hover { stroke-opacity: 1; stroke-width: 3.5px; }
    .cx-node { cursor: pointer; }
    .cx-node rect { fill: #f7f7f7; stroke: #dddddd; stroke-width: 0.8px; vector-effect: non-scaling-stroke; }
    .cx-node text { fill: #c4c4c4; pointer-events: none; font-size: var(--cx-label, 10px); dominant-baseline: central; }
    .cx-grid text { font-size: var(--cx-row-label, 10px); dominant-baseline: central; }
    .cx-node.cx-in:not(.cx-idle) rect { fill: #ffffff; stroke: #333333; stroke-width: 1.4px; }
    .cx-node.cx-in:not(.cx-idle) text { fill: #111111; font-weight: bold; }
    .cx-node.cx-match rect { stroke: #e6550d; stroke-width: 3px; }
    .cx-focused .cx-edge:not(.cx-on) { stroke-opacity: 0.04; }
    .cx-focused .cx-edge.cx-on { stroke-opacity: 0.9; }
    .cx-focused .cx-node:not(.cx-on) { opacity: 0.3; }
    .cx-focused .cx-node.cx-on rect { stroke: #e6550d; stroke-width: 2px; }
    .cx-tooltip { position: absolute; pointer-events: none; background: rgba(255, 255, 255, 0.96); border: 1px solid #bbbbbb;
                  border-radius: 4px; padding: 4px 8px; font-size: 12px; white-space: pre-line; max-width: 46ch;
                  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.15); }
    @media print { .cx-bar { display: none; } svg.cx-canvas { height: 24cm; } }

    """
}
