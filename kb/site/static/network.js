// The network page: cytoscape.js over the pairs the page carries (written by Python from the saved
// queries `network` and `meetings`); the filters keep the meetings of a status and dates, and an
// edge's weight is the number of its meetings kept. Choosing an edge lists its meetings.
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("network-data").textContent);
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  var panel = document.getElementById("edge-meetings");
  var labels = {};
  data.nodes.forEach(function (n) { labels[n.id] = n.label; });
  var cy = null;
  if (window.cytoscape) {
    var container = document.getElementById("network");
    container.hidden = false;
    cy = cytoscape({
      container: container,
      style: [
        {selector: "node", style: {"label": "data(label)", "font-size": 10, "background-color": "#0b5394",
                                   "text-wrap": "wrap", "text-max-width": 90}},
        {selector: "edge", style: {"width": "mapData(weight, 1, 6, 1.5, 9)", "line-color": "#6d6d6d",
                                   "curve-style": "haystack"}},
        {selector: "edge.held", style: {"line-style": "solid", "line-color": "#2f6f3e"}},
        {selector: "edge.planned", style: {"line-style": "dashed", "line-color": "#a35c00"}},
        {selector: "edge.other", style: {"line-style": "dotted"}},
        {selector: ":selected", style: {"line-color": "#c00", "background-color": "#c00"}}
      ],
      layout: {name: "preset"}
    });
    cy.on("tap", "edge", function (event) { showEdge(event.target.id()); });
    cy.on("tap", "node", function (event) { window.location.href = event.target.data("href"); });
  }
  function kept(meeting, f) {
    var m = data.meetings[meeting];
    if (!m) return false;
    return (!f.status || m.status === f.status) && (!f.from || (m.date && m.date >= f.from)) &&
      (!f.to || (m.date && m.date <= f.to));
  }
  function filters() { return {status: form.status.value, from: form.from.value, to: form.to.value}; }
  function showEdge(id) {
    var edge = data.edges.filter(function (e) { return e.id === id; })[0];
    var f = filters();
    document.getElementById("edge-name").textContent = labels[edge.source] + " and " + labels[edge.target];
    var list = panel.querySelector("ul");
    list.textContent = "";
    edge.meetings.filter(function (m) { return kept(m, f); }).forEach(function (m) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = data.meetings[m].href; a.textContent = data.meetings[m].label;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" (" + (data.meetings[m].status || "no status") +
                                             (data.meetings[m].date ? ", " + data.meetings[m].date : "") + ")"));
      list.appendChild(li);
    });
    panel.hidden = false;
  }
  function kind(meetings) {
    var statuses = meetings.map(function (m) { return data.meetings[m].status; });
    if (statuses.indexOf("held") >= 0 || statuses.indexOf("ongoing") >= 0) return "held";
    if (statuses.indexOf("planned") >= 0 || statuses.indexOf("proposed") >= 0) return "planned";
    return "other";
  }
  function apply() {
    var f = filters(), elements = [], nodes = {}, rows = document.querySelectorAll("#network-table tbody tr");
    data.edges.forEach(function (e, i) {
      var meetings = e.meetings.filter(function (m) { return kept(m, f); });
      rows[i].hidden = meetings.length === 0;
      if (!meetings.length) return;
      nodes[e.source] = nodes[e.target] = true;
      elements.push({group: "edges", classes: kind(meetings),
                     data: {id: e.id, source: e.source, target: e.target, weight: meetings.length}});
    });
    shown.textContent = elements.length + " of " + data.edges.length + " pairs shown";
    if (!cy) return;
    data.nodes.forEach(function (n) {
      if (nodes[n.id]) elements.push({group: "nodes", data: {id: n.id, label: n.label, href: n.href}});
    });
    cy.elements().remove();
    cy.add(elements);
    cy.layout({name: "cose", animate: false, randomize: false, nodeRepulsion: 8000}).run();
    panel.hidden = true;
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  apply();
  window.tradekbNetwork = {cy: cy, showEdge: showEdge};
})();
