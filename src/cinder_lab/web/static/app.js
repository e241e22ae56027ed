/* The live page of `cinder-lab web`: the graph from /api/topology, then everything new
 * from the server-sent events of /api/events (topology, message, story, status). */
(function () {
  "use strict";

  var HOP_MS = 420;       // one hop of a travelling message
  var DROP_MARK_MS = 12000;
  var MAX_LOG = 200;
  var lab = window.cinderLab = { cy: null, messages: {}, animations: [], topology: null };
  var received = 0;       // performance.now() when the services table arrived

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // -- the graph, the services, the dead ends -------------------------------------------

  function showTopology(t) {
    lab.topology = t;
    $("source").textContent = t.source + ", vhost " + t.vhost;
    $("sdt").textContent = t.service_down_time;
    if (!lab.cy) {
      lab.cy = CinderGraph.create($("graph"), t.elements);
      lab.cy.on("tap", "node", function (evt) {
        var n = evt.target;
        if (!n.hasClass("token") && !n.hasClass("drop-mark")) { showDetails(n.data("details")); }
      });
    } else {
      CinderGraph.update(lab.cy, t.elements);
    }
    showServices(t.services);
    showDeadEnds(t.dead_ends);
  }

  function showServices(rows) {
    received = performance.now();
    var body = $("services").tBodies[0];
    body.textContent = "";
    rows.forEach(function (s) {
      var tr = el("tr", s.state + (s.status === "disabled" ? " disabled" : ""));
      tr.dataset.service = s.binary + " " + s.host;
      tr.dataset.state = s.state;
      [s.id, s.binary, s.host, s.zone, s.status].forEach(function (v) { tr.appendChild(el("td", "", v)); });
      tr.appendChild(el("td", "state", s.state));
      var age = el("td", "age");
      age.dataset.age = s.age === null ? "" : s.age;
      tr.appendChild(age);
      body.appendChild(tr);
    });
    tickAges();
  }

  function tickAges() {
    var since = (performance.now() - received) / 1000;
    Array.prototype.forEach.call(document.querySelectorAll("#services td.age"), function (td) {
      td.textContent = td.dataset.age === "" ? "never" :
        Math.round(parseFloat(td.dataset.age) + since) + " s ago";
    });
  }

  function showDeadEnds(list) {
    var ul = $("dead-ends");
    ul.textContent = "";
    if (!list.length) { ul.appendChild(el("li", "none", "Every queue has a consumer.")); }
    list.forEach(function (d) {
      ul.appendChild(el("li", "dead-end", "DEAD END: " + d.queue + ": nobody consumes it, " +
        d.messages + " message(s) waiting; " + d.note));
    });
  }

  function showDetails(text) {
    var pre = $("envelope");
    pre.classList.remove("muted");
    pre.textContent = text;
  }

  // -- messages --------------------------------------------------------------------------

  function what(m) {
    return m.method || (m.reply_to ? "reply to " + m.reply_to : "(reply)");
  }

  function logMessage(m) {
    lab.messages[m.seq] = m;
    var li = el("li", "msg " + m.kind + (m.dropped ? " dropped" : ""));
    li.dataset.seq = m.seq;
    li.dataset.kind = m.kind;
    li.dataset.method = m.method || "";
    li.dataset.path = JSON.stringify(m.paths);
    var kind = el("span", "kind k " + (m.dropped ? "dropped" : m.kind), m.kind.toUpperCase());
    li.appendChild(kind);
    li.appendChild(document.createTextNode(" " + m.time.slice(11, 23) + " " + what(m)));
    var where = m.dropped ? "DROPPED at exchange " + (m.exchange || "(default)") +
        ": no queue bound for routing key " + (m.routing_key || "(empty)") :
      "-> " + m.queues.join(", ") + (m.consumed_by.length ? "; taken by " + m.consumed_by.join("; ") :
        "; nobody yet (waits in the queue)");
    li.appendChild(el("span", "where", where));
    li.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll("#log li.selected"), function (x) {
        x.classList.remove("selected");
      });
      li.classList.add("selected");
      showEnvelope(m);
    });
    // Newest first by publish time and the broker's order, not by when the tracer knew its fate.
    li.dataset.key = m.time + "#" + ("000000000" + (m.order || 0)).slice(-10);
    var log = $("log"), after = log.firstChild;
    while (after && after.dataset.key > li.dataset.key) { after = after.nextSibling; }
    log.insertBefore(li, after);
    while (log.children.length > MAX_LOG) { log.removeChild(log.lastChild); }
  }

  if (window.CinderSequence) { CinderSequence.onArrowClick(function (m) { showEnvelope(m); }); }

  function showEnvelope(m) {
    var head = {
      kind: m.kind, method: m.method, exchange: m.exchange || "(default)", routing_key: m.routing_key,
      routed_to: m.queues, dropped: m.dropped, consumed_by: m.consumed_by, sent_by: m.publisher,
      "oslo.version": m.oslo_version
    };
    showDetails(JSON.stringify(head, null, 2) + "\n\noslo.message (decoded):\n" +
      JSON.stringify(m.envelope, null, 2));
    $("envelope").dataset.seq = m.seq;
  }

  /* A token travels each path node by node; edges on the way light up. A dropped
   * message stops at its exchange and leaves a red mark there. */
  function animate(m) {
    var cy = lab.cy;
    if (!cy) { return; }
    // What each token really did, node by node: the tests read it.
    var record = { seq: m.seq, kind: m.kind, method: m.method, dropped: m.dropped, paths: m.paths,
      visited: m.paths.map(function () { return []; }) };
    lab.animations.push(record);
    if (lab.animations.length > 500) { lab.animations.shift(); }
    m.paths.forEach(function (path, i) {
      var nodes = path.map(function (id) { return cy.getElementById(id); })
        .filter(function (n) { return n.length; });
      if (!nodes.length) { return; }
      record.visited[i].push(nodes[0].id());
      var id = "token-" + m.seq + "-" + i;
      var token = cy.add({ group: "nodes", data: { id: id, label: what(m) },
        classes: "token " + m.kind + (m.dropped ? " dropped" : ""),
        position: Object.assign({}, nodes[0].position()) });
      var hop = 1;
      function next() {
        if (hop >= nodes.length) {
          if (m.dropped) { dropMark(m, nodes[0]); }
          token.animate({ style: { opacity: 0 } }, { duration: 300, complete: function () { token.remove(); } });
          return;
        }
        var edge = nodes[hop - 1].edgesTo(nodes[hop]);
        edge.addClass("lit");
        nodes[hop].addClass("lit");
        var target = nodes[hop];
        hop += 1;
        token.animate({ position: Object.assign({}, target.position()) }, {
          duration: HOP_MS, complete: function () {
            record.visited[i].push(target.id());
            setTimeout(function () { edge.removeClass("lit"); target.removeClass("lit"); }, 600);
            next();
          }
        });
      }
      next();
    });
  }

  function dropMark(m, exchange) {
    var p = exchange.position();
    var id = "drop-" + m.seq;
    var mark = lab.cy.add({ group: "nodes", classes: "drop-mark",
      data: { id: id, label: "✕ DROPPED " + m.routing_key, seq: m.seq },
      position: { x: p.x, y: p.y + exchange.height() / 2 + 14 } });
    setTimeout(function () { if (mark.inside()) { mark.remove(); } }, DROP_MARK_MS);
  }

  // -- story mode --------------------------------------------------------------------------

  var stories = [];

  function post(url) {
    return fetch(url, { method: "POST" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { showError(body.error || r.statusText); }
        return body;
      });
    });
  }

  function showError(text) {
    var box = $("error");
    box.hidden = !text;
    box.textContent = text || "";
  }

  function loadStories() {
    fetch("/api/stories").then(function (r) { return r.json().then(function (b) { return [r, b]; }); })
      .then(function (rb) {
        var r = rb[0], body = rb[1];
        if (!r.ok) { $("story").hidden = true; return; }
        stories = body.stories;
        var select = $("story-select");
        stories.forEach(function (s) {
          var o = el("option", "", s.name + (s.note ? " (the note)" : "") + ": " + s.summary);
          o.value = s.name;
          select.appendChild(o);
        });
        select.addEventListener("change", describeStory);
        describeStory();
        showStory(body.state);
      });
    $("story-start").addEventListener("click", function () {
      showError("");
      post("/api/stories/" + encodeURIComponent($("story-select").value) + "/start");
    });
    $("story-next").addEventListener("click", function () { post("/api/stories/next"); });
    $("story-stop").addEventListener("click", function () { post("/api/stories/stop"); });
  }

  function describeStory() {
    var name = $("story-select").value;
    var s = stories.filter(function (x) { return x.name === name; })[0];
    $("story-about").textContent = s ? s.about : "";
  }

  function showStory(state) {
    var box = $("story-steps");
    box.textContent = "";
    var running = state.status === "running" || state.status === "waiting";
    $("story-start").disabled = running;
    $("story-next").disabled = state.status !== "waiting";
    $("story-stop").disabled = !running;
    box.dataset.status = state.status;
    if (!state.name) { return; }
    box.appendChild(el("div", "story-state", state.name + ": " + state.status +
      (state.status === "waiting" ? " (press Next step)" : "")));
    state.steps.forEach(function (s, i) {
      var div = el("div", "story-step" + (i === state.steps.length - 1 ? " current" : ""));
      div.appendChild(el("h3", "", s.title));
      div.appendChild(el("pre", "", s.lines.join("\n")));
      box.appendChild(div);
    });
    if (state.failures && state.failures.length) {
      box.appendChild(el("div", "story-state", "failed checks: " + state.failures.join("; ")));
    }
  }

  // -- wiring --------------------------------------------------------------------------------

  function connect() {
    var source = new EventSource("/api/events");
    source.addEventListener("open", function () {
      $("status").textContent = "live";
      $("status").className = "status live";
    });
    source.addEventListener("error", function () {
      $("status").textContent = "reconnecting…";
      $("status").className = "status lost";
    });
    source.addEventListener("topology", function (e) { showTopology(JSON.parse(e.data)); });
    source.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      if (lab.messages[m.seq]) { return; }  // already shown before a reconnection
      logMessage(m);
      if (window.CinderSequence) { CinderSequence.add(m); }
      animate(m);
    });
    source.addEventListener("history", function (e) {
      var m = JSON.parse(e.data);
      if (!lab.messages[m.seq]) {
        logMessage(m);
        if (window.CinderSequence) { CinderSequence.add(m); }
      }
    });
    source.addEventListener("story", function (e) { showStory(JSON.parse(e.data)); });
    source.addEventListener("status", function (e) { showError(JSON.parse(e.data).error); });
  }

  fetch("/static/legend.html").then(function (r) { return r.text(); })
    .then(function (html) { $("legend").innerHTML = html; });
  fetch("/api/topology").then(function (r) { return r.json(); }).then(function (t) {
    if (t.error) { showError(t.error); } else { showTopology(t); }
    connect();
  });
  loadStories();
  setInterval(tickAges, 1000);
})();
