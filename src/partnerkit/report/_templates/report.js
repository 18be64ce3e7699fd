"use strict";
// Sort a table by the column whose heading button was pressed; again reverses it.
document.querySelectorAll("table[data-sortable]").forEach(function (table) {
  var headings = table.querySelectorAll("thead th");
  headings.forEach(function (heading, index) {
    heading.querySelector("button").addEventListener("click", function () {
      var ascending = heading.getAttribute("aria-sort") !== "ascending";
      var numeric = heading.hasAttribute("data-numeric");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute("data-sort");
        var y = b.cells[index].getAttribute("data-sort");
        var order;
        if (numeric) {
          var p = x === "" ? -Infinity : Number(x);
          var q = y === "" ? -Infinity : Number(y);
          order = p < q ? -1 : p > q ? 1 : 0;
        } else {
          order = x.localeCompare(y);
        }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headings.forEach(function (other) { other.removeAttribute("aria-sort"); });
      heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });
});
