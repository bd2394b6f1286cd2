// Send the CSRF token with every HTMX request (forms carry it as a hidden field).
document.addEventListener("htmx:configRequest", function (evt) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { evt.detail.headers["X-CSRF-Token"] = meta.content; }
});

// Behaviours the templates ask for with data-* attributes: the content security policy forbids
// inline event handlers (onclick=…), so they live here. Delegated, so HTMX-swapped parts work too.
// <form data-confirm="…"> (or a submit button with it): ask before submitting — below.
document.addEventListener("change", function (evt) {
  var el = evt.target;
  // <select data-autosubmit>: submit its form on change.
  if (el.matches("[data-autosubmit]") && el.form) { el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit(); }
  // <input type="checkbox" data-group="k">: (un)tick every checkbox data-member="k".
  if (el.matches("input[data-group]")) {
    document.querySelectorAll('input[data-member="' + el.dataset.group + '"]').forEach(function (c) { c.checked = el.checked; });
  }
});
// <input type="range" data-show-value>: show the value in the <output> right after it.
document.addEventListener("input", function (evt) {
  var el = evt.target;
  if (el.matches("[data-show-value]") && el.nextElementSibling) { el.nextElementSibling.value = el.value; }
});

// Confirmation before a consequential submit (play now to many loudspeakers, an emergency alert, ending a
// programme). The button (or its form) carries the question in data-confirm; "{count}" becomes the number
// of elements matching data-confirm-count (e.g. the loudspeakers ticked). With data-confirm-min, fewer than
// that many need no question, unless data-confirm-force matches something (e.g. the emergency box is
// ticked), which asks data-confirm-force-text instead. The dialog is #confirm-dialog of the base layout.
(function () {
  "use strict";
  var confirmed = null;

  function setting(submitter, form, name) {
    if (submitter && submitter.hasAttribute(name)) { return submitter.getAttribute(name); }
    return form.getAttribute(name);
  }

  function question(form, submitter) {
    var text = setting(submitter, form, "data-confirm");
    if (!text) { return null; }
    var countOf = setting(submitter, form, "data-confirm-count");
    var count = countOf ? document.querySelectorAll(countOf).length : 0;
    var force = setting(submitter, form, "data-confirm-force");
    var forced = force && document.querySelector(force);
    if (forced) {
      text = setting(submitter, form, "data-confirm-force-text") || text;
    } else {
      var min = parseInt(setting(submitter, form, "data-confirm-min") || "0", 10);
      if (count < min) { return null; }
    }
    return text.replace("{count}", String(count));
  }

  function ask(text, onYes) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text)) { onYes(); }
      return;
    }
    document.getElementById("confirm-text").textContent = text;
    dialog.querySelectorAll("button").forEach(function (button) {
      button.onclick = function () {
        dialog.close();
        if (button.value === "yes") { onYes(); }
      };
    });
    dialog.showModal();
    dialog.querySelector("button[value='no']").focus();
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var submitter = evt.submitter || null;
    if (confirmed === form) { confirmed = null; return; }
    var text = question(form, submitter);
    if (!text) { return; }
    evt.preventDefault();
    evt.stopImmediatePropagation();
    ask(text, function () {
      confirmed = form;
      if (typeof form.requestSubmit === "function") { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    });
  }, true);
})();
