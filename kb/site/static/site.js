// tradekb: small enhancements; every page works without this script.
"use strict";
(function () {
  // Article pages: choosing a fact highlights its spans.
  document.querySelectorAll(".facts li[data-spans]").forEach(function (item) {
    var button = item.querySelector(".show-spans");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var on = button.getAttribute("aria-pressed") !== "true";
      document.querySelectorAll("mark.chosen").forEach(function (m) { m.classList.remove("chosen"); });
      document.querySelectorAll(".facts li.chosen").forEach(function (li) {
        li.classList.remove("chosen");
        li.querySelector(".show-spans").setAttribute("aria-pressed", "false");
      });
      if (!on) return;
      item.classList.add("chosen");
      button.setAttribute("aria-pressed", "true");
      var first = null;
      item.dataset.spans.split(" ").filter(Boolean).forEach(function (id) {
        document.querySelectorAll("mark").forEach(function (m) {
          if (m.dataset.spans.split(" ").indexOf(id) >= 0) { m.classList.add("chosen"); first = first || m; }
        });
      });
      if (first) first.scrollIntoView({block: "center"});
    });
  });
  // Tables: sortable by a click on a column's header.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, column) {
      var button = document.createElement("button");
      button.type = "button"; button.className = "sort"; button.textContent = th.textContent;
      th.textContent = ""; th.appendChild(button); th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].textContent, y = b.cells[column].textContent;
          return (ascending ? 1 : -1) * x.localeCompare(y, undefined, {numeric: true});
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
