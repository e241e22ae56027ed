/* The routing graph, exchange -> queue -> consumer -> service, drawn with Cytoscape.js.
 * Shared by the live view of `cinder-lab web` and the static page of `cinder-lab topology --graph html`.
 * Elements come from cinder_lab.observe.graph_page.elements(): box sizes are set there
 * from the text, so the layout knows them and never overlaps two boxes. The layout is
 * the lab's own (below): four columns, a band per consumer. */
(function (global) {
  "use strict";

  var FILL = { exchange: "#e8f0fe", queue: "#fff7e0", consumer: "#e9f7ef", service: "#f3e8fd" };
  var SHAPE = { exchange: "cut-rectangle", queue: "barrel", consumer: "round-rectangle", service: "rectangle" };
  var PAD = 16;
  var MIN_ZOOM = 1;  // the labels' 12 px, never smaller

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
      "target-arrow-shape": "triangle", "arrow-scale": 0.9, "curve-style": "straight",
      /* Out of a box's right side, into the next box's left side. */
      "source-endpoint": "50% 0%", "target-endpoint": "-50% 0%" } },
    /* A dead queue's dashed edge to the row its name points to (beside it: no consumer). */
    { selector: "edge.dead", style: { "line-color": "#c00", "target-arrow-color": "#c00",
      "line-style": "dashed" } },
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

  /* The layout: four columns (exchanges, queues, consumers, services rows) in bands, one
   * band per services row: its consumers' queues stacked in the queue column, the consumers
   * beside them and the row beside the consumers, so each consumer's row sits level with it. A queue
   * nobody consumes gets a band of its own, beside the row its name points to. Exchanges sit
   * level with the queues they feed. Every edge is a straight line from a box's right side
   * to the next box's left side: each binding has its own line, none shares a trunk.
   * Placed once; boxes that appear later get bands below the others, which stay put. */
  var GAP = [44, 28, 16];   // px between columns 0|1, 1|2, 2|3
  var VGAP = 10, BAND_GAP = 18;

  function columnX(cy) {
    var w = [0, 0, 0, 0];
    cy.nodes().not(".token, .drop-mark").forEach(function (n) {
      w[n.data("column")] = Math.max(w[n.data("column")], n.data("w"));
    });
    var x = [0], left = 0;
    for (var c = 1; c < 4; c++) { left += w[c - 1] + GAP[c - 1]; x.push(left); }
    return function (n) { return x[n.data("column")] + n.data("w") / 2; };
  }

  function byId(a, b) { return a.id() < b.id() ? -1 : a.id() > b.id() ? 1 : 0; }

  /* Positions for the nodes of ``todo`` (a collection), in bands from ``top`` down. */
  function plan(cy, todo, top) {
    var xOf = columnX(cy), pos = {}, y = top;
    function free(n) { return todo.has(n) && !pos[n.id()]; }
    function put(n, cy_) { pos[n.id()] = { x: xOf(n), y: cy_ }; }
    /* Queues stacked on the left; the consumers stacked close together level with their
     * middle; the row level with the consumers, so it is beside each of them. */
    function band(queues, consumers, service) {
      function stack(ns) {
        var h = 0;
        ns.forEach(function (n) { h += n.data("h") + VGAP; });
        return Math.max(0, h - VGAP);
      }
      var hq = stack(queues), hc = stack(consumers);
      var h = Math.max(hq, hc, service ? service.data("h") : 0);
      var qy = y + (h - hq) / 2, cy_ = y + (h - hc) / 2;
      queues.forEach(function (q) { put(q, qy + q.data("h") / 2); qy += q.data("h") + VGAP; });
      consumers.forEach(function (c) { put(c, cy_ + c.data("h") / 2); cy_ += c.data("h") + VGAP; });
      if (service) { put(service, y + h / 2); }
      y += h + BAND_GAP;
    }
    function label(n) { var s = n.outgoers("node.service"); return (s.length ? s[0].data("label") : "~") + n.id(); }
    var consumers = todo.filter(".consumer").sort(function (a, b) {
      return label(a) < label(b) ? -1 : label(a) > label(b) ? 1 : 0;
    });
    consumers.forEach(function (c) {
      if (!free(c)) { return; }
      var service = c.outgoers("node.service").filter(free)[0];
      // Every consumer of one services row (today's volume service has two servers).
      var group = service ? service.incomers("node.consumer").filter(free).sort(byId) : c;
      var queues = group.incomers("node.queue").filter(free).sort(byId);
      band(queues, group, service);
    });
    todo.filter(".queue").sort(byId).forEach(function (q) {
      if (free(q)) { band([q], [], q.outgoers("node.service").filter(free)[0]); }
    });
    todo.filter(".service").sort(byId).forEach(function (s) { if (free(s)) { band([], [], s); } });
    placeExchanges(cy, todo.filter(".exchange").sort(byId), pos, xOf);
    return pos;
  }

  /* Each exchange level with the middle of its queues, pushed down past any box above it. */
  function placeExchanges(cy, exchanges, pos, xOf) {
    function at(n) { return pos[n.id()] || n.position(); }
    var taken = cy.nodes(".exchange").not(exchanges).map(function (n) {
      return [n.position("y") - n.data("h") / 2, n.position("y") + n.data("h") / 2];
    });
    var wanted = exchanges.map(function (e) {
      var qs = e.outgoers("node.queue"), sum = 0;
      qs.forEach(function (q) { sum += at(q).y; });
      return { e: e, y: qs.length ? sum / qs.length : 0 };
    }).sort(function (a, b) { return a.y - b.y; });
    wanted.forEach(function (w) {
      var h = w.e.data("h"), y1 = w.y - h / 2, moved = true;
      while (moved) {
        moved = false;
        taken.forEach(function (t) {
          if (y1 < t[1] + VGAP && t[0] < y1 + h + VGAP) { y1 = t[1] + VGAP; moved = true; }
        });
      }
      taken.push([y1, y1 + h]);
      pos[w.e.id()] = { x: xOf(w.e), y: y1 + h / 2 };
    });
  }

  function boxes(cy) { return cy.nodes().not(".token, .drop-mark"); }

  function layout(cy) {
    var pos = plan(cy, boxes(cy), 0);
    boxes(cy).forEach(function (n) { n.position(pos[n.id()]); });
    followMarks(cy);
    fitWidth(cy);
  }

  /* New boxes in bands below the others; a box that grew pushes the ones under it down. */
  function place(cy, added) {
    var old = boxes(cy).not(added);
    var xOf = columnX(cy);
    old.forEach(function (n) { n.position("x", xOf(n)); });  // a column that widened
    var bottom = old.length ? old.boundingBox().y2 + BAND_GAP : 0;
    var pos = plan(cy, added, bottom);
    added.forEach(function (n) { n.position(pos[n.id()]); });
    for (var c = 0; c < 4; c++) {
      var col = boxes(cy).filter(function (n) { return n.data("column") === c; })
        .sort(function (a, b) { return a.position("y") - b.position("y"); });
      for (var i = 1; i < col.length; i++) {
        var above = col[i - 1], n = col[i];
        var min = above.position("y") + (above.data("h") + n.data("h")) / 2 + VGAP;
        if (n.position("y") < min) { n.position("y", min); }
      }
    }
    followMarks(cy);
    fitWidth(cy);
  }

  /* A drop mark stays under its exchange, wherever that box is now. */
  function followMarks(cy) {
    cy.nodes(".drop-mark").forEach(function (m) {
      var ex = cy.getElementById(m.data("exchange"));
      if (!ex.length) { m.remove(); return; }
      m.position({ x: ex.position("x"), y: ex.position("y") + ex.data("h") / 2 + 14 });
    });
  }

  /* Fit the graph to the width of its container, never below the size its text was
   * measured for (12 px): a frame narrower than the graph scrolls sideways instead. */
  function fitWidth(cy) {
    var box = cy.container();
    var wrap = box.parentElement;
    var nodes = boxes(cy);
    if (!nodes.length) { box.style.height = "120px"; cy.resize(); return; }
    var bb = nodes.boundingBox();
    var avail = Math.max(wrap.clientWidth, 320) - 2 * PAD;
    var zoom = Math.min(1.2, Math.max(MIN_ZOOM, avail / bb.w));
    box.style.width = Math.max(avail + 2 * PAD, bb.w * zoom + 2 * PAD) + "px";
    box.style.height = Math.ceil(bb.h * zoom + 2 * PAD) + "px";
    cy.resize();
    cy.zoom(zoom);
    cy.pan({ x: PAD - bb.x1 * zoom, y: PAD - bb.y1 * zoom });
  }

  function create(container, elements) {
    var cy = global.cytoscape({
      container: container, elements: elements, style: STYLE, layout: { name: "preset" },
      boxSelectionEnabled: false, autoungrabify: true, userZoomingEnabled: false,
      userPanningEnabled: false
    });
    layout(cy);
    var timer = null;
    global.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { fitWidth(cy); }, 100);
    });
    return cy;
  }

  /* Apply a new snapshot in place, keeping messages in flight and every box where it is:
   * changed boxes get their new text, gone ones go, new ones are placed below. With no box
   * left from before (a story started: a new lab) the whole graph is laid out afresh. */
  function update(cy, elements) {
    var want = {};
    elements.forEach(function (el) { want[el.data.id] = el; });
    var added = [];
    cy.batch(function () {
      cy.elements().not(".token, .drop-mark").forEach(function (e) {
        if (!want[e.id()]) { e.remove(); }
      });
      elements.forEach(function (el) {
        var e = cy.getElementById(el.data.id);
        if (e.length) {
          e.data(el.data);
          e.classes((el.classes || "") + (e.hasClass("lit") ? " lit" : ""));
        } else {
          added.push(el);
        }
      });
    });
    if (!added.length) { fitWidth(cy); return false; }
    var kept = boxes(cy).length;
    var fresh = cy.add(added).nodes();
    if (!kept) { layout(cy); } else if (fresh.length) { place(cy, fresh); }
    return fresh.length > 0;
  }

  /* Lay everything out afresh (the page's "Tidy up" button): gaps left by boxes that went
   * are closed; boxes move. */
  function relayout(cy) { layout(cy); }

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

  global.CinderGraph = { create: create, update: update, fitWidth: fitWidth, overlaps: overlaps,
    relayout: relayout, followMarks: followMarks };
})(window);
