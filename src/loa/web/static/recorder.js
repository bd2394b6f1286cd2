// Recording a rendition in the browser (content/_renditions.html): each .recorder box uploads its
// recording to its data-url. A file, not an inline script, for the content security policy.
(function () {
  var csrf = document.querySelector('meta[name="csrf-token"]');
  document.querySelectorAll(".recorder").forEach(function (box) {
    var start = box.querySelector(".rec-start"), stop = box.querySelector(".rec-stop"), status = box.querySelector(".rec-status");
    if (!window.MediaRecorder || !navigator.mediaDevices) { start.disabled = true; status.textContent = "Trình duyệt không hỗ trợ thu âm."; return; }
    var recorder = null, chunks = [];
    start.addEventListener("click", function () {
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
        chunks = []; recorder = new MediaRecorder(stream);
        recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
        recorder.onstop = function () {
          stream.getTracks().forEach(function (t) { t.stop(); });
          var blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
          var data = new FormData(); data.append("file", blob, "ban-thu.webm"); data.append("origin", "recording");
          status.textContent = "Đang tải bản thu lên…";
          fetch(box.dataset.url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": csrf ? csrf.content : "" } })
            .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
            .then(function (res) { if (res[0]) { window.location.reload(); } else { status.textContent = res[1].title || "Không lưu được bản thu."; } })
            .catch(function () { status.textContent = "Không kết nối được máy chủ."; });
        };
        recorder.start(); start.hidden = true; stop.hidden = false; status.textContent = "Đang thu…";
      }).catch(function () { status.textContent = "Không dùng được micrô (chưa cho phép?)."; });
    });
    stop.addEventListener("click", function () { if (recorder) { recorder.stop(); } stop.hidden = true; start.hidden = false; });
  });
})();
