// The new-programme form shows only the fields of the chosen kind of recurrence (without this script
// every field shows, and the server ignores those of other kinds). The preview of the next airings is
// HTMX (hx-get on #rule-preview); nothing here talks to the server.
(function () {
  "use strict";
  function sync() {
    var kind = document.getElementById("p-rule");
    if (!kind) { return; }
    document.querySelectorAll("#when [data-kinds]").forEach(function (box) {
      box.hidden = box.getAttribute("data-kinds").split(" ").indexOf(kind.value) < 0;
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "p-rule") { sync(); }
  });
  sync();
})();
