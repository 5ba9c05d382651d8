// The timeline page: vis-timeline over the items the page carries (written by Python from the saved
// queries), filtered by kind, status, actor and dates; the table below is filtered alike.
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var container = document.getElementById("timeline");
  var form = document.getElementById("filters");
  var shown = document.getElementById("shown");
  var rows = document.querySelectorAll("#timeline-table tbody tr");
  var timeline = null, items = null;
  if (window.vis) {
    container.hidden = false;
    items = new vis.DataSet(data.items.map(toVis));
    var window0 = mostOf(data.items);
    timeline = new vis.Timeline(container, items, new vis.DataSet(data.groups), {
      stack: true, zoomable: true, orientation: "top", tooltip: {followMouse: true},
      maxHeight: 520, verticalScroll: true, start: window0[0], end: window0[1]
    });
    timeline.on("select", function (event) {
      if (event.items.length) window.location.href = data.items[event.items[0]].href;
    });
  }
  function toVis(item) {
    var v = {id: item.id, group: item.group, content: escapeHtml(item.content), start: item.start,
             title: escapeHtml(item.kind + " · " + (item.status || "no status") + " · " + item.sources.join("; ")),
             className: "status-" + (item.status || "none").replace(/[^a-z-]/g, "-")};
    if (item.end) { v.end = item.end; v.type = "range"; } else { v.type = "point"; }
    return v;
  }
  function escapeHtml(text) {
    var div = document.createElement("div"); div.textContent = text; return div.innerHTML;
  }
  // The window: from the 5th to the 95th percentile of the items' dates, so that one fact years
  // away (a 2014 meeting recalled in 2019) does not squeeze the rest into a line.
  function mostOf(kept) {
    var starts = kept.map(function (item) { return item.start; }).sort();
    var from = new Date(starts[Math.floor(starts.length * 0.05)]);
    var to = new Date(starts[Math.ceil(starts.length * 0.95) - 1]);
    var pad = Math.max(7 * 86400000, (to - from) * 0.1);
    return [new Date(from.getTime() - pad), new Date(to.getTime() + pad)];
  }
  function showMost(kept) {
    var range = mostOf(kept);
    timeline.setWindow(range[0], range[1], {animation: false});
  }
  function matches(item, f) {
    var end = item.end || item.start;
    return (!f.kind || item.kind === f.kind) && (!f.status || item.status === f.status) &&
      (!f.actor || item.actors.indexOf(f.actor) >= 0) && (!f.from || end >= f.from) && (!f.to || item.start <= f.to);
  }
  function apply() {
    var f = {kind: form.kind.value, status: form.status.value, actor: form.actor.value,
             from: form.from.value, to: form.to.value};
    var kept = data.items.filter(function (item) { return matches(item, f); });
    var ids = {};
    kept.forEach(function (item) { ids[item.id] = true; });
    rows.forEach(function (row) { row.hidden = !ids[row.dataset.item]; });
    if (items) {
      items.clear(); items.add(kept.map(toVis));
      if (kept.length) showMost(kept);
    }
    shown.textContent = kept.length + " of " + data.items.length + " shown";
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  apply();
})();
