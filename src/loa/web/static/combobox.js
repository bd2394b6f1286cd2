// The combobox of _combobox.html: type a name, get options from data-source (?q=…, JSON
// [{"value": …, "label": …}]), choose with the mouse or ArrowDown/ArrowUp + Enter; Escape closes.
// The value goes into the hidden field (or, with data-multiple, a removable chip). Typing again after a
// choice clears the hidden value, so a stale code is never posted with a new name. With
// data-submit-on-choose the form is sent as soon as an option is chosen (e.g. "add this bulletin").
(function () {
  "use strict";
  var DELAY_MS = 200;

  function setup(box) {
    var input = box.querySelector("input[role='combobox']");
    var list = box.querySelector("ul[role='listbox']");
    var hidden = box.hasAttribute("data-multiple") ? null : box.querySelector("input[type='hidden']");
    var chips = box.querySelector("ul.chips");
    var name = box.getAttribute("data-name");
    var timer = null;
    var active = -1;
    var options = [];
    var asked = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
      options = [];
    }

    function highlight(index) {
      var items = list.querySelectorAll("li[role='option']");
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function addChip(option) {
      var exists = Array.prototype.some.call(chips.querySelectorAll("input[type='hidden']"), function (h) {
        return h.value === option.value;
      });
      if (exists) { return; }
      var li = document.createElement("li");
      li.appendChild(document.createTextNode(option.label));
      var value = document.createElement("input");
      value.type = "hidden";
      value.name = name;
      value.value = option.value;
      li.appendChild(value);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.setAttribute("data-remove", "");
      remove.setAttribute("aria-label", box.getAttribute("data-remove") + " " + option.label);
      remove.textContent = "×";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(remove);
      chips.appendChild(li);
    }

    function choose(index) {
      var option = options[index];
      if (!option) { return; }
      if (chips) {
        addChip(option);
        input.value = "";
      } else {
        input.value = option.label;
        hidden.value = option.value;
      }
      close();
      box.dispatchEvent(new CustomEvent("combobox:chosen", { bubbles: true, detail: option }));
      var form = input.form;
      if (box.hasAttribute("data-submit-on-choose") && form && typeof form.requestSubmit === "function") {
        form.requestSubmit();
      }
    }

    function show(found) {
      list.textContent = "";
      options = found;
      if (!found.length) {
        var none = document.createElement("li");
        none.className = "none";
        none.setAttribute("role", "presentation");
        none.textContent = box.getAttribute("data-none");
        list.appendChild(none);
      }
      found.forEach(function (option, i) {
        var li = document.createElement("li");
        li.id = input.id + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = option.label;
        li.addEventListener("mousedown", function (evt) { evt.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(found.length ? 0 : -1);
    }

    function ask() {
      var query = input.value.trim();
      if (!query) { close(); return; }
      var source = box.getAttribute("data-source");
      var url = source + (source.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query);
      var mine = ++asked;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (found) { if (mine === asked && document.activeElement === input) { show(found); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      if (hidden) { hidden.value = ""; }
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (evt) {
      if (evt.key === "ArrowDown") {
        evt.preventDefault();
        if (list.hidden) { ask(); } else if (options.length) { highlight(Math.min(active + 1, options.length - 1)); }
      } else if (evt.key === "ArrowUp") {
        evt.preventDefault();
        if (options.length) { highlight(Math.max(active - 1, 0)); }
      } else if (evt.key === "Enter") {
        if (!list.hidden && active >= 0) { evt.preventDefault(); choose(active); }
      } else if (evt.key === "Escape") {
        if (!list.hidden) { evt.preventDefault(); close(); }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
    if (chips) {
      chips.addEventListener("click", function (evt) {
        var button = evt.target.closest && evt.target.closest("button[data-remove]");
        if (button) { button.closest("li").remove(); input.focus(); }
      });
    }
  }

  function init(root) {
    root.querySelectorAll("[data-combobox]").forEach(function (box) {
      if (box.getAttribute("data-ready")) { return; }
      box.setAttribute("data-ready", "1");
      setup(box);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (evt) { init(evt.target); });
})();
