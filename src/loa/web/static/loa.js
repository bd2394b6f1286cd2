// Send the CSRF token with every HTMX request (forms carry it as a hidden field).
document.addEventListener("htmx:configRequest", function (evt) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { evt.detail.headers["X-CSRF-Token"] = meta.content; }
});

// Behaviours the templates ask for with data-* attributes: the content security policy forbids
// inline event handlers (onclick=…), so they live here. Delegated, so HTMX-swapped parts work too.
// <form data-confirm="…">: ask before submitting.
document.addEventListener("submit", function (evt) {
  var form = evt.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) { evt.preventDefault(); }
}, true);
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
