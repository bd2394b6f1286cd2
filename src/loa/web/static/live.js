// "Phát trực tiếp": the browser's microphone on air (loa.live.views). getUserMedia → MediaRecorder
// (WebM/Opus, a chunk every 250 ms) → WebSocket /live/ws/{id}; a level meter from an AnalyserNode;
// elapsed time and listening loudspeakers from /live/{id}/status every 2 s.
(function () {
  "use strict";
  const form = document.getElementById("live-form");
  if (!form) return;
  const startButton = document.getElementById("live-start");
  const stopButton = document.getElementById("live-stop");
  const panel = document.getElementById("live-panel");
  const level = document.getElementById("live-level");
  const elapsed = document.getElementById("live-elapsed");
  const listeners = document.getElementById("live-listeners");
  const message = document.getElementById("live-message");
  const csrf = form.dataset.csrf;
  let state = null;

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function clock(seconds) {
    const m = Math.floor(seconds / 60), s = seconds % 60;
    return String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  }

  async function post(url, body) {
    const answer = await fetch(url, {method: "POST", body: body, headers: {"X-CSRF-Token": csrf}, credentials: "same-origin"});
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.error || "Không thực hiện được, vui lòng thử lại.");
    return data;
  }

  function meter(stream) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let peak = 0;
      for (const v of samples) peak = Math.max(peak, Math.abs(v));
      level.value = peak;
    }, 100);
    return () => { clearInterval(timer); context.close(); };
  }

  async function start() {
    say("");
    const codes = new FormData(form).getAll("codes");
    if (!codes.length) { say("Hãy chọn ít nhất một xã hoặc thôn."); return; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: true, noiseSuppression: true}});
    } catch (err) {
      say("Không mở được micrô: hãy cho phép trình duyệt dùng micrô rồi thử lại.");
      return;
    }
    startButton.disabled = true;
    let session;
    try {
      session = await post("/live/start", new FormData(form));
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      startButton.disabled = false;
      say(err.message);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/live/ws/" + session.id);
    socket.binaryType = "arraybuffer";
    const recorder = new MediaRecorder(stream, {mimeType: "audio/webm;codecs=opus", audioBitsPerSecond: 32000});
    recorder.ondataavailable = (e) => { if (e.data.size && socket.readyState === WebSocket.OPEN) socket.send(e.data); };
    recorder.onstop = () => { if (socket.readyState === WebSocket.OPEN) { socket.send("stop"); socket.close(); } };
    socket.onopen = () => recorder.start(250);
    socket.onclose = () => { if (state && state.id === session.id) finish("Kết nối phát trực tiếp đã đóng."); };
    const stopMeter = meter(stream);
    const poll = setInterval(async () => {
      const answer = await fetch("/live/" + session.id + "/status", {credentials: "same-origin"});
      if (!answer.ok) return;
      const data = await answer.json();
      elapsed.textContent = clock(data.elapsed_s);
      listeners.textContent = data.listeners;
      if (data.status !== "on_air" && state) finish(data.status_message || "Buổi phát đã kết thúc.");
    }, 2000);
    state = {id: session.id, stream, recorder, socket, stopMeter, poll};
    panel.hidden = false;
    stopButton.hidden = false;
    startButton.hidden = true;
    say("Đang phát trực tiếp.");
  }

  function finish(text) {
    if (!state) return;
    const s = state;
    state = null;
    clearInterval(s.poll);
    s.stopMeter();
    if (s.recorder.state !== "inactive") s.recorder.stop();
    s.stream.getTracks().forEach((t) => t.stop());
    stopButton.hidden = true;
    startButton.hidden = false;
    startButton.disabled = false;
    panel.hidden = true;
    say(text);
  }

  async function stop() {
    if (!state) return;
    // The server ends the session first, so the socket closing after it is not taken for a dropped source.
    stopButton.disabled = true;
    try { await post("/live/" + state.id + "/stop", new FormData()); } catch (err) { say(err.message); }
    stopButton.disabled = false;
    finish("Đã dừng phát trực tiếp; loa trở lại chương trình đang phát.");
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
})();
