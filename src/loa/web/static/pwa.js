// The installable app (loa.web.pwa): registers the service worker (/sw.js) and, for a signed-in
// person, the "Nhận thông báo" button of the top bar that subscribes this browser to Web Push
// (loa.push). A file, not an inline script, for the content security policy.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  var registered = navigator.serviceWorker.register("/sw.js", { scope: "/" });
  registered.catch(function () { /* the site works without it */ });

  var button = document.querySelector("[data-push-toggle]");
  if (!button || !("PushManager" in window) || !("Notification" in window)) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');

  function call(path, body) {
    return fetch(path, {
      method: body ? "POST" : "GET",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { var e = new Error(j.title || ""); e.fromServer = true; throw e; }
        return j;
      });
    });
  }

  function keyBytes(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function show(subscribed, note) {
    button.hidden = false;
    button.textContent = subscribed ? button.dataset.on : button.dataset.off;
    button.setAttribute("aria-pressed", subscribed ? "true" : "false");
    button.title = note || "";
  }

  call("/api/v1/push/key").then(function (key) {
    if (!key.enabled) { return; }
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (current) {
        show(!!current);
        button.addEventListener("click", function () {
          button.disabled = true;
          var done = function () { button.disabled = false; };
          reg.pushManager.getSubscription().then(function (sub) {
            if (sub) {
              return call("/api/v1/push/subscriptions/remove", { endpoint: sub.endpoint })
                .then(function () { return sub.unsubscribe(); })
                .then(function () { show(false); });
            }
            return Notification.requestPermission().then(function (answer) {
              if (answer !== "granted") { show(false, button.dataset.denied); return; }
              return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key) })
                .then(function (made) { return call("/api/v1/push/subscriptions", made.toJSON()); })
                .then(function () { show(true); });
            });
          }).catch(function (err) {
            // The server's messages are Vietnamese; the browser's own (push service errors) are not shown.
            show(false, (err && err.fromServer && err.message) || button.dataset.failed);
          }).then(done, done);
        });
      });
    });
  }).catch(function () { /* not signed in, or push unavailable: the button stays hidden */ });
})();
