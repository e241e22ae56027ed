/* The sequence view of `cinder-lab web`: one request's messages as a sequence diagram.
 *
 * Each message arrives with its `arrow` (observe/sequence.py): the request it belongs to,
 * its sender and receivers (lifelines), kind, label, publish time and the broker's publish
 * order. A lifeline per process, time downwards, an arrow per message in publish order;
 * a dropped or still-waiting message ends at the broker's lifeline. Clicking an arrow
 * shows its envelope (app.js). window.CinderSequence.state is what the tests read. */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var TIME_W = 96;      // the publish-time column
  var COL_MIN = 150;    // a lifeline's least width: the SVG scrolls sideways past that
  var COL_MAX = 300;
  var HEAD = 48;        // lifeline boxes
  var ROW = 40;         // one message
  var BROKER = "broker";
  var FOLLOW = "";      // the select's value for "the newest request"
  var MAX_REQUESTS = 100;

  var state = { requests: {}, selected: FOLLOW, shown: null, clicked: null };
  var onArrowClick = function () {};

  function $(id) { return document.getElementById(id); }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function before(a, b) {  // publish order: time, then the broker's count
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }

  // -- the requests --------------------------------------------------------------------

  function add(m) {
    var a = m.arrow;
    if (!a) { return; }
    var list = state.requests[a.request] = state.requests[a.request] || [];
    var i = list.length;
    while (i > 0 && before(m.arrow, list[i - 1].arrow)) { i -= 1; }
    list.splice(i, 0, m);
    var ids = byStart();
    ids.slice(MAX_REQUESTS).forEach(function (id) {  // the oldest go, unless picked
      if (id !== state.selected) { delete state.requests[id]; }
    });
    listRequests();
    var shown = current();
    if (shown === a.request || shown !== state.shown) { draw(); }
  }

  // A request made only of fanout capability reports is the lab's background chatter.
  function background(list) {
    return list.every(function (m) { return m.arrow.kind === "fanout"; });
  }

  function byStart() {
    return Object.keys(state.requests).sort(function (x, y) {
      return before(state.requests[x][0].arrow, state.requests[y][0].arrow) ? 1 : -1;
    });
  }

  function current() {
    if (state.selected !== FOLLOW && state.requests[state.selected]) { return state.selected; }
    var ids = byStart();
    var busy = ids.filter(function (id) { return !background(state.requests[id]); });
    return busy[0] || ids[0] || null;
  }

  function title(id) {
    var list = state.requests[id];
    var first = list[0].arrow;
    return first.time.slice(11, 23) + "  " + first.label + " (" + list.length + " message" +
      (list.length === 1 ? "" : "s") + (background(list) ? ", background" : "") + ")";
  }

  function listRequests() {
    var select = $("seq-request");
    if (!select) { return; }
    var ids = byStart();
    var follow = select.options[0] || document.createElement("option");
    follow.value = FOLLOW;
    var now = current();
    follow.textContent = "the newest request" + (now ? ": " + title(now) : "");
    select.textContent = "";
    select.appendChild(follow);
    ids.forEach(function (id) {
      var o = document.createElement("option");
      o.value = id;
      o.textContent = title(id) + "  " + id;
      select.appendChild(o);
    });
    select.value = state.selected;
  }

  // -- the diagram -----------------------------------------------------------------------

  function lifelines(list) {
    var names = [];
    list.forEach(function (m) {
      [m.arrow.sender].concat(m.arrow.receivers).forEach(function (n) {
        if (n !== BROKER && names.indexOf(n) < 0) { names.push(n); }
      });
    });
    var broker = list.some(function (m) { return m.arrow.receivers.indexOf(BROKER) >= 0; });
    return broker ? names.concat([BROKER]) : names;
  }

  function head(root, name, x, width) {
    var g = svg("g", { "class": "lifeline" + (name === BROKER ? " broker" : ""), "data-name": name });
    // Two lines: "cinder-volume" over "maqi-kilo@ceph"; a note in [brackets] or a pid below.
    var cut = name.search(/ \[| \(pid/);
    cut = cut >= 0 ? cut : name.indexOf(" ");
    var lines = name === BROKER ? ["broker", "(exchanges, queues)"] :
      cut < 0 ? [name] : [name.slice(0, cut), name.slice(cut + 1)];
    g.appendChild(svg("rect", { x: x - width / 2 + 6, y: 4, width: width - 12, height: HEAD - 8, rx: 5 }));
    lines.forEach(function (text, i) {
      g.appendChild(svg("text", { x: x, y: lines.length === 1 ? 30 : 22 + i * 15, "class": "name" }, text));
    });
    g.appendChild(svg("line", { x1: x, y1: HEAD - 4, x2: x, y2: "100%", "class": "life" }));
    root.appendChild(g);
  }

  function arrowRow(root, m, y, xs, width, start) {
    var a = m.arrow;
    var from = xs[a.sender];
    var g = svg("g", {
      "class": "arrow " + a.kind + (a.dropped ? " dropped" : ""), "data-seq": m.seq,
      "data-kind": a.kind, "data-from": a.sender, "data-to": a.receivers.join("|"),
      "data-order": a.order, "data-y": y, "data-label": a.label, tabindex: 0
    });
    g.appendChild(svg("text", { x: 6, y: y - 2, "class": "time" }, a.time.slice(11, 23)));
    var since = Date.parse(a.time) - Date.parse(start);  // both local times: the gap is right
    g.appendChild(svg("text", { x: 6, y: y + 13, "class": "time since" },
      isNaN(since) ? "" : "+" + since + " ms"));
    g.appendChild(svg("rect", { x: TIME_W - 4, y: y - 18, width: width - TIME_W, height: ROW - 4,
      "class": "hit" }));
    var left = from, right = from;
    a.receivers.forEach(function (r) {
      var to = xs[r];
      left = Math.min(left, to);
      right = Math.max(right, to);
      if (to === from) {  // to itself (a fanout a service also consumes): a small loop
        g.appendChild(svg("path", { d: "M" + from + " " + (y - 6) + " h 28 v 12 h -26",
          "class": "line", "marker-end": "url(#seq-head-" + a.kind + ")" }));
        return;
      }
      var end = to + (to > from ? -6 : 6);
      g.appendChild(svg("line", { x1: from, y1: y, x2: end, y2: y, "class": "line",
        "marker-end": r === BROKER && a.dropped ? "" : "url(#seq-head-" + a.kind + ")" }));
      if (r === BROKER && a.dropped) {
        g.appendChild(svg("text", { x: to, y: y + 5, "class": "cross" }, "✕"));
      }
    });
    var label = a.kind === "reply" ? a.label : a.kind + " " + a.label;
    g.appendChild(svg("text", { x: (left + right) / 2 || from + 40, y: y - 6, "class": "label" }, label));
    if (a.note) {
      g.appendChild(svg("text", { x: (left + right) / 2, y: y + 14, "class": "note" }, a.note));
    }
    var tip = svg("title", {}, a.sender + " → " + a.receivers.join(", ") + ": " + label +
      (a.note ? " (" + a.note + ")" : "") + (a.inferred ? "; sender inferred" : ""));
    g.appendChild(tip);
    if (state.clicked === m.seq) { g.classList.add("selected"); }  // kept across redraws
    g.addEventListener("keydown", function (e) {  // Enter or space: as a click
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); g.dispatchEvent(new Event("click")); }
    });
    g.addEventListener("click", function () {
      Array.prototype.forEach.call(root.querySelectorAll("g.arrow.selected"), function (x) {
        x.classList.remove("selected");
      });
      g.classList.add("selected");
      state.clicked = m.seq;
      onArrowClick(m);
    });
    root.appendChild(g);
  }

  function markers(root) {
    var defs = svg("defs");
    ["cast", "call", "reply", "fanout", "other"].forEach(function (kind) {
      var mk = svg("marker", { id: "seq-head-" + kind, viewBox: "0 0 10 10", refX: 9, refY: 5,
        markerWidth: 11, markerHeight: 11, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" });
      var d = kind === "cast" || kind === "reply" ? "M0 0 L10 5 L0 10" : "M0 0 L10 5 L0 10 z";
      mk.appendChild(svg("path", { d: d, "class": "head " + kind }));
      defs.appendChild(mk);
    });
    root.appendChild(defs);
  }

  function draw() {
    var box = $("seq-view");
    if (!box) { return; }
    var id = current();
    state.shown = id;
    box.textContent = "";
    if (!id) {
      box.appendChild(Object.assign(document.createElement("p"),
        { className: "muted", textContent: "No request yet: its messages appear here as they pass." }));
      return;
    }
    var list = state.requests[id];
    var names = lifelines(list);
    // Columns share the width, up to COL_MAX each: two lifelines stay close together.
    var col = Math.min(COL_MAX, Math.max(COL_MIN, ((box.clientWidth || 800) - TIME_W) / names.length));
    var width = TIME_W + col * names.length;
    var xs = {};
    names.forEach(function (n, i) { xs[n] = TIME_W + col * (i + 0.5); });
    var height = HEAD + 24 + list.length * ROW;
    var root = svg("svg", { width: width, height: height, "class": "seq", "data-request": id });
    markers(root);
    root.appendChild(svg("text", { x: 6, y: 30, "class": "time head-time" }, "published"));
    names.forEach(function (n) { head(root, n, xs[n], col); });
    list.forEach(function (m, i) { arrowRow(root, m, HEAD + 30 + i * ROW, xs, width, list[0].arrow.time); });
    box.appendChild(root);
    $("seq-id").textContent = id;
  }

  function select(id) {
    state.selected = id || FOLLOW;
    listRequests();
    draw();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var s = $("seq-request");
    if (s) { s.addEventListener("change", function () { select(s.value); }); }
  });
  window.addEventListener("resize", function () { draw(); });

  window.CinderSequence = {
    add: add, select: select, state: state, current: current, lifelines: lifelines,
    onArrowClick: function (fn) { onArrowClick = fn; }
  };
})();
