// Drag a slot of the calendar onto another day to move it (same time of day). The server validates
// the move and re-detects conflicts; a conflict opens a dialog with the proposal, never resolved silently.
(function () {
  "use strict";
  var dragged = null;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function status(text, ok) {
    var box = document.getElementById("schedule-status");
    if (!box) { return; }
    box.textContent = text;
    box.className = ok ? "flash ok" : "flash";
    box.hidden = false;
  }

  function move(key, startLocal, accept) {
    var body = { start_local: startLocal };
    if (accept) { body.accept = accept; }
    return fetch("/api/v1/slots/" + encodeURIComponent(key) + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    });
  }

  function askAboutConflict(key, startLocal, problem) {
    var dialog = document.getElementById("conflict-dialog");
    var text = document.getElementById("conflict-text");
    text.textContent = "";
    var intro = document.createElement("p");
    intro.textContent = problem.title;
    text.appendChild(intro);
    var list = document.createElement("ul");
    ((problem.details || {}).conflicts || []).forEach(function (c) {
      var item = document.createElement("li");
      item.textContent = c.message;
      list.appendChild(item);
    });
    text.appendChild(list);
    dialog.querySelectorAll("button[data-accept]").forEach(function (button) {
      button.onclick = function () {
        dialog.close();
        var accept = button.getAttribute("data-accept");
        if (accept) { submit(key, startLocal, accept); } else { status("Đã hủy, buổi phát giữ nguyên giờ cũ.", true); }
      };
    });
    dialog.showModal();
  }

  function submit(key, startLocal, accept) {
    status("Đang dời buổi phát…", true);
    move(key, startLocal, accept).then(function (result) {
      if (result.ok) {
        status("Đã dời buổi phát.", true);
        window.location.reload();
      } else if (result.status === 409 && result.data.code === "schedule_conflict") {
        askAboutConflict(key, startLocal, result.data);
      } else {
        status(result.data.title || "Không dời được buổi phát.", false);
      }
    }).catch(function () { status("Mất kết nối tới máy chủ, chưa dời được.", false); });
  }

  document.addEventListener("dragstart", function (evt) {
    var ev = evt.target.closest && evt.target.closest(".ev[data-slot][draggable='true']");
    if (!ev) { return; }
    dragged = ev;
    evt.dataTransfer.effectAllowed = "move";
    evt.dataTransfer.setData("text/plain", ev.getAttribute("data-slot"));
  });

  document.addEventListener("dragover", function (evt) {
    var day = evt.target.closest && evt.target.closest(".day[data-date]");
    if (dragged && day) { evt.preventDefault(); day.classList.add("drop-target"); }
  });

  document.addEventListener("dragleave", function (evt) {
    var day = evt.target.closest && evt.target.closest(".day[data-date]");
    if (day) { day.classList.remove("drop-target"); }
  });

  document.addEventListener("drop", function (evt) {
    var day = evt.target.closest && evt.target.closest(".day[data-date]");
    if (!dragged || !day) { return; }
    evt.preventDefault();
    day.classList.remove("drop-target");
    var key = dragged.getAttribute("data-slot");
    var startLocal = day.getAttribute("data-date") + "T" + dragged.getAttribute("data-time");
    dragged = null;
    submit(key, startLocal, null);
  });

  document.addEventListener("dragend", function () { dragged = null; });
})();
