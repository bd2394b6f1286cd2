// The send form of the alerts page (alerts/index.html): shows the part of "Nơi nhận cảnh báo" that the
// chosen mode needs, and lets the person draw a polygon over the loudspeakers on a Leaflet map by
// clicking its corners (no drawing plugin, no CDN). The polygon travels as JSON [[lat, lon], …] in the
// hidden field "polygon"; each change fires a "change" event so the count of loudspeakers and people
// covered (HTMX, /alerts/coverage) refreshes. A file, not an inline script, for the content security policy.
(function () {
  "use strict";
  var form = document.getElementById("alert-form");
  if (!form) { return; }
  var box = document.getElementById("alert-map");
  var field = document.getElementById("alert-polygon");
  var counter = document.getElementById("alert-polygon-count");
  var map = null, shape = null, corners = [];

  function mode() {
    var checked = form.querySelector('input[name="mode"]:checked');
    return checked ? checked.value : "communes";
  }

  function changed() {
    field.value = corners.length >= 3 ? JSON.stringify(corners) : "";
    counter.textContent = corners.length ? corners.length + " đỉnh" + (corners.length < 3 ? " (cần ít nhất 3)" : "") : "";
    if (shape) { map.removeLayer(shape); shape = null; }
    if (corners.length >= 2) {
      shape = (corners.length >= 3 ? L.polygon(corners, { color: "#d62828" }) : L.polyline(corners, { color: "#d62828" })).addTo(map);
    }
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function startMap() {
    if (map || !box || typeof L === "undefined") { if (map) { map.invalidateSize(); } return; }
    map = L.map(box, { zoomControl: true, attributionControl: false, doubleClickZoom: false });
    box.loaMap = map;  // for tests and tools: the drawing map
    var speakers = [];
    try { speakers = JSON.parse(box.getAttribute("data-speakers") || "[]"); } catch (e) { speakers = []; }
    var points = speakers.map(function (s) { return [s.lat, s.lon]; });
    speakers.forEach(function (s) {
      L.circleMarker([s.lat, s.lon], { radius: 6, color: "#0b5", fillOpacity: 0.8 })
        .bindTooltip(s.name + " — " + s.commune).addTo(map);
    });
    if (points.length) { map.fitBounds(L.latLngBounds(points).pad(0.5)); } else { map.setView([16.0, 107.5], 6); }
    try { corners = JSON.parse(box.getAttribute("data-polygon") || "[]") || []; } catch (e) { corners = []; }
    map.on("click", function (evt) {
      corners.push([Math.round(evt.latlng.lat * 1e6) / 1e6, Math.round(evt.latlng.lng * 1e6) / 1e6]);
      changed();
    });
    if (corners.length) { changed(); }
  }

  function showParts() {
    var current = mode();
    form.querySelectorAll(".target-part").forEach(function (part) {
      part.hidden = part.getAttribute("data-mode") !== current;
    });
    if (current === "polygon") { startMap(); }
  }

  form.addEventListener("change", function (evt) {
    if (evt.target.name === "mode") { showParts(); }
  });
  var clear = document.getElementById("alert-polygon-clear");
  if (clear) { clear.addEventListener("click", function () { corners = []; if (map) { changed(); } }); }
  showParts();
})();
