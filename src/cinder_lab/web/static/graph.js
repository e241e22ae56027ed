/* The routing graph, exchange -> queue -> consumer -> service, drawn with Cytoscape.js
 * and laid out in layers by dagre (cytoscape-dagre). Shared by the live view of
 * `cinder-lab web` and the static page of `cinder-lab topology --graph html`.
 * Elements come from cinder_lab.observe.graph.elements(): box sizes are set there
 * from the text, so the layout knows them and never overlaps two boxes. */
(function (global) {
  "use strict";

  var FILL = { exchange: "#e8f0fe", queue: "#fff7e0", consumer: "#e9f7ef", service: "#f3e8fd" };
  var SHAPE = { exchange: "cut-rectangle", queue: "barrel", consumer: "round-rectangle", service: "rectangle" };
  var PAD = 16;

  var STYLE = [
    { selector: "node", style: {
      "label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
      "font-family": "DejaVu Sans Mono, Menlo, Consolas, monospace", "font-size": 12,
      "text-justification": "left", "text-max-width": "2000px", "width": "data(w)", "height": "data(h)",
      "border-width": 1, "border-color": "#888", "color": "#222" } },
    { selector: "node.exchange", style: { "shape": SHAPE.exchange, "background-color": FILL.exchange } },
    { selector: "node.queue", style: { "shape": SHAPE.queue, "background-color": FILL.queue } },
    { selector: "node.consumer", style: { "shape": SHAPE.consumer, "background-color": FILL.consumer } },
    { selector: "node.service", style: { "shape": SHAPE.service, "background-color": FILL.service } },
    { selector: "node.dead", style: { "background-color": "#ffdddd", "border-color": "#c00",
      "border-width": 2.5, "color": "#600" } },
    { selector: "node:selected", style: { "border-color": "#1a56db", "border-width": 3 } },
    { selector: "edge", style: {
      "width": 1.3, "line-color": "#888", "target-arrow-color": "#888",
      "target-arrow-shape": "triangle", "arrow-scale": 0.9,
      /* Out of a box's right side, turn in the gap between two columns, into the next box's
       * left side: no edge crosses a box of its own column. */
      "curve-style": "taxi", "taxi-direction": "rightward", "taxi-turn": "50%",
      "taxi-turn-min-distance": 8 } },
    /* A dead queue's edge to its row skips the consumers' column: it follows dagre's route
     * through a gap of that column instead of passing behind a consumer box. */
    { selector: "edge.dead", style: { "line-color": "#c00", "target-arrow-color": "#c00",
      "line-style": "dashed", "curve-style": "unbundled-bezier",
      "control-point-weights": function (e) { return e.scratch("controlPointWeights") || 0.5; },
      "control-point-distances": function (e) { return e.scratch("controlPointDistances") || 0; },
      "edge-distances": "intersection" } },
    { selector: "edge.lit", style: { "width": 3.5, "line-color": "#1a56db",
      "target-arrow-color": "#1a56db" } },
    { selector: "node.lit", style: { "border-color": "#1a56db", "border-width": 3 } },
    /* The travelling messages: one shape and colour per kind. */
    { selector: "node.token", style: { "label": "data(label)", "width": 18, "height": 18,
      "font-size": 11, "text-valign": "top", "text-margin-y": -4, "border-width": 2,
      "border-color": "#fff", "z-index": 99, "text-background-color": "#fff",
      "text-background-opacity": 0.85, "text-background-padding": 2 } },
    { selector: "node.token.cast", style: { "shape": "ellipse", "background-color": "#1a56db" } },
    { selector: "node.token.call", style: { "shape": "diamond", "background-color": "#d97706" } },
    { selector: "node.token.reply", style: { "shape": "round-triangle", "background-color": "#15803d" } },
    { selector: "node.token.fanout", style: { "shape": "star", "background-color": "#7e22ce" } },
    { selector: "node.token.other", style: { "shape": "ellipse", "background-color": "#555" } },
    { selector: "node.token.dropped", style: { "background-color": "#c00", "color": "#c00" } },
    { selector: "node.drop-mark", style: { "label": "data(label)", "shape": "ellipse",
      "width": 14, "height": 14, "background-color": "#c00", "color": "#c00",
      "font-size": 11, "font-weight": "bold", "text-valign": "bottom", "text-margin-y": 4,
      "text-background-color": "#fff", "text-background-opacity": 0.9, "z-index": 98 } }
  ];

  function layout(cy) {
    cy.layout({
      name: "dagre", rankDir: "LR", nodeSep: 14, rankSep: 70, edgeSep: 10,
      fit: false, animate: false,
      // Each edge spans its columns: a dead queue's edge to its row skips the consumers.
      minLen: function (edge) { return edge.data("span") || 1; },
      sort: function (a, b) { return a.id() < b.id() ? -1 : a.id() > b.id() ? 1 : 0; },
      useDagreEdgeControlPoints: true, automaticDagreEdgeStyle: false
    }).run();
    fitWidth(cy);
  }

  /* Fit the graph to the width of its container; the page scrolls down, not the graph
   * across, so text keeps a readable size at any window width. */
  function fitWidth(cy) {
    var box = cy.container();
    var wrap = box.parentElement;
    var nodes = cy.nodes().not(".token, .drop-mark");
    if (!nodes.length) { box.style.height = "120px"; cy.resize(); return; }
    var bb = nodes.boundingBox();
    var avail = Math.max(wrap.clientWidth, 320) - 2 * PAD;
    var zoom = Math.min(1.2, Math.max(0.45, avail / bb.w));
    box.style.width = Math.max(avail + 2 * PAD, bb.w * zoom + 2 * PAD) + "px";
    box.style.height = Math.ceil(bb.h * zoom + 2 * PAD) + "px";
    cy.resize();
    cy.zoom(zoom);
    cy.pan({ x: PAD - bb.x1 * zoom, y: PAD - bb.y1 * zoom });
  }

  function create(container, elements) {
    var cy = global.cytoscape({
      container: container, elements: elements, style: STYLE,
      boxSelectionEnabled: false, autoungrabify: true
    });
    layout(cy);
    var timer = null;
    global.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { fitWidth(cy); }, 100);
    });
    return cy;
  }

  /* Replace the graph's elements with a new snapshot, keeping messages in flight;
   * lay out again only when a box appeared, went or changed size. */
  function update(cy, elements) {
    var before = {};
    cy.elements().not(".token, .drop-mark").forEach(function (e) {
      before[e.id()] = e.isNode() ? e.data("w") + "x" + e.data("h") : "edge";
    });
    var same = Object.keys(before).length === elements.length;
    elements.forEach(function (el) {
      var size = el.group === "nodes" ? el.data.w + "x" + el.data.h : "edge";
      if (before[el.data.id] !== size) { same = false; }
    });
    if (same) {
      cy.batch(function () {
        elements.forEach(function (el) {
          var e = cy.getElementById(el.data.id);
          e.data(el.data);
          e.classes((el.classes || "") + (e.hasClass("lit") ? " lit" : ""));
        });
      });
      return false;
    }
    cy.batch(function () {
      cy.elements().not(".token, .drop-mark").remove();
      cy.add(elements);
    });
    layout(cy);
    return true;
  }

  /* The boxes that overlap, as pairs of ids (the tests ask for none). */
  function overlaps(cy) {
    var boxes = cy.nodes().not(".token, .drop-mark").map(function (n) {
      return { id: n.id(), bb: n.renderedBoundingBox({ includeLabels: true, includeOverlays: false }) };
    });
    var out = [];
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length; j++) {
        var a = boxes[i].bb, b = boxes[j].bb;
        if (a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2) {
          out.push([boxes[i].id, boxes[j].id]);
        }
      }
    }
    return out;
  }

  global.CinderGraph = { create: create, update: update, fitWidth: fitWidth, overlaps: overlaps };
})(window);
