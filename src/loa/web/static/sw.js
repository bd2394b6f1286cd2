// Loa's service worker (served as /sw.js by loa.web.pwa, which fills in the cache version).
// What it keeps: only SHELL, the offline page and what that page shows. It never stores a page of a
// signed-in person or an API answer: those go to the network untouched, and when the network is gone
// a page asked for is answered with the offline page instead.
"use strict";

var VERSION = "__CACHE_VERSION__";
var CACHE = "loa-shell-" + VERSION;
var SHELL = ["/offline", "/static/loa.css", "/static/favicon.svg", "/static/icons/icon-192.png"];
var OFFLINE = "/offline";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(SHELL.map(function (u) { return new Request(u, { cache: "reload", credentials: "omit" }); })); })
      .then(function () { return self.skipWaiting(); })
  );
});

// A new version's worker deletes every older Loa cache.
self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("loa-") === 0 && n !== CACHE; })
          .map(function (n) { return caches.delete(n); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    // Network first, always; the offline page only when there is no network.
    event.respondWith(fetch(request).catch(function () { return caches.match(OFFLINE, { cacheName: CACHE }); }));
    return;
  }
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(fetch(request).catch(function () { return caches.match(url.pathname, { cacheName: CACHE }); }));
  }
  // Everything else (API, fragments, audio, other static files): not touched, never kept.
});

// Web Push (loa.push): the payload is {title, body, url, tag}, already in Vietnamese.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "Loa";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || "loa",
    lang: "vi",
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) { target = new URL("/", self.location.origin); }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
      for (var i = 0; i < list.length; i++) {
        if (list[i].url === target.href && "focus" in list[i]) { return list[i].focus(); }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
