// The map page (/map): Leaflet, served by Loa (vendor/leaflet), with the layers of /map/data (GeoJSON).
// Without a tile URL (data-tiles empty) there is no base layer at all and nothing is fetched from outside:
// the communes, villages and loudspeakers Loa knows are the map. Every word shown comes from the page's
// data-label-* attributes (translated on the server); no inline script, so a strict CSP holds.
(function () {
  "use strict";
  var box = document.getElementById("map");
  if (!box || typeof L === "undefined") { return; }

  function label(name) { return box.getAttribute("data-label-" + name) || ""; }

  var tiles = box.getAttribute("data-tiles");
  var map = L.map(box, { zoomControl: true, attributionControl: true });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" rel="noopener">Leaflet</a>');
  if (tiles) {
    L.tileLayer(tiles, {
      maxZoom: parseInt(box.getAttribute("data-max-zoom") || "18", 10),
      attribution: box.getAttribute("data-attribution") || ""
    }).addTo(map);
  } else {
    box.classList.add("no-tiles");
    var note = L.control({ position: "bottomleft" });
    note.onAdd = function () {
      var div = L.DomUtil.create("div", "map-note");
      div.textContent = label("notiles");
      return div;
    };
    note.addTo(map);
  }
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  map.setView([16.0, 107.5], 6);  // Vietnam, until the data says where the person works

  function popup(props) {
    var div = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = props.name;
    div.appendChild(title);
    var lines = [];
    if (props.kind === "loudspeaker" || props.kind === "loudspeaker_group") {
      lines.push(props.state);
      if (props.place) { lines.push(props.place); }
    }
    if (props.kind === "village") {
      if (props.population !== null && props.population !== undefined) {
        var lang = document.documentElement.lang === "en" ? "en" : "vi-VN";
        lines.push(Number(props.population).toLocaleString(lang) + " " + label("people"));
      }
      lines.push(props.covered ? label("covered") : label("uncovered"));
    }
    if (props.approximate) { lines.push(label("approximate")); }
    lines.forEach(function (text) {
      div.appendChild(document.createElement("br"));
      div.appendChild(document.createTextNode(text));
    });
    if (props.href) {
      div.appendChild(document.createElement("br"));
      var link = document.createElement("a");
      link.href = props.href;
      link.textContent = label("open");
      div.appendChild(link);
    }
    return div;
  }

  var STYLES = {
    commune: function () { return { radius: 4, color: "#fff", weight: 1, fillColor: "#8a94a3", fillOpacity: 0.9 }; },
    village: function (p) { return { radius: 6, color: "#fff", weight: 1.5, fillColor: p.covered ? "#0b63c4" : "#c46a00", fillOpacity: 0.95 }; },
    loudspeaker: function (p) { return { radius: 8, color: "#fff", weight: 2, fillColor: p.online ? "#1f7a3a" : "#b3261e", fillOpacity: 1 }; },
    // Many loudspeakers counted together by the server (more than it draws one by one): zoom in to see them.
    loudspeaker_group: function (p) {
      return { radius: Math.min(28, 8 + 3 * Math.log(p.count)), color: "#fff", weight: 2,
               fillColor: p.online === p.count ? "#1f7a3a" : "#c46a00", fillOpacity: 0.85 };
    },
    visual: function () { return { radius: 6, color: "#fff", weight: 1.5, fillColor: "#6a2db3", fillOpacity: 0.95 }; },
    trip: function () { return { radius: 6, color: "#0b4a8b", weight: 3, dashArray: "6 4", fillColor: "#0b4a8b", fillOpacity: 0.8 }; }
  };
  var ORDER = ["commune", "village", "trip", "visual", "loudspeaker"];

  function mark(props) {  // the style, and a class naming the kind (the tests count them)
    var style = STYLES[props.kind](props);
    style.className = "loa-" + props.kind + (props.kind === "loudspeaker" ? (props.online ? " online" : " offline") : "");
    return style;
  }

  var groups = {};
  ORDER.forEach(function (kind) { groups[kind] = L.featureGroup(); });
  var coverage = L.featureGroup();

  function draw(features, only) {  // only: the kinds to draw ("loudspeaker": the loudspeakers again)
    features.forEach(function (feature) {
      var props = feature.properties;
      var kind = props.kind === "loudspeaker_group" ? "loudspeaker" : props.kind;
      if (!STYLES[props.kind] || (only && kind !== only)) { return; }
      var layer = L.geoJSON(feature, {
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, mark(props)); },
        style: function () { return mark(props); }
      });
      layer.eachLayer(function (l) {
        l.bindTooltip(props.name);
        l.bindPopup(function () { return popup(props); });
      });
      layer.addTo(groups[kind]);
      if (props.kind === "loudspeaker") {
        var c = feature.geometry.coordinates;
        L.circle([c[1], c[0]], {
          radius: props.radius_m, color: "#1f7a3a", weight: 1, fillColor: "#1f7a3a", fillOpacity: 0.12,
          interactive: false, className: "loa-coverage"
        }).addTo(coverage);
      }
    });
  }

  function load(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); });
  }

  // With too many loudspeakers to draw one by one, the server groups them: then the loudspeakers of
  // the view are asked for again whenever the view moves (bbox: west,south,east,north).
  function follow() {
    var pending = 0;
    map.on("moveend", function () {
      var mine = ++pending;
      load(box.getAttribute("data-source") + "?bbox=" + map.getBounds().toBBoxString()).then(function (data) {
        if (mine !== pending) { return; }  // a later move already asked again
        groups.loudspeaker.clearLayers();
        coverage.clearLayers();
        draw(data.features, "loudspeaker");
      });
    });
  }

  load(box.getAttribute("data-source"))
    .then(function (data) {
      draw(data.features, null);
      var overlays = {};
      overlays[label("coverage")] = coverage.addTo(map);
      ORDER.forEach(function (kind) { overlays[label(kind)] = groups[kind].addTo(map); });
      groups.loudspeaker.bringToFront();
      L.control.layers(null, overlays, { collapsed: false }).addTo(map);
      if (data.bounds) {
        map.fitBounds([data.bounds[0], data.bounds[1]], { padding: [30, 30], maxZoom: 16 });
      }
      if (data.features.some(function (f) { return f.properties.kind === "loudspeaker_group"; })) { follow(); }
      box.setAttribute("data-features", String(data.features.length));
      box.setAttribute("data-ready", "1");
    })
    .catch(function () { box.setAttribute("data-ready", "error"); });
})();
