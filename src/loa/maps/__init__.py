"""The map: loudspeakers with their coverage, villages and the people they hold, communes, visual items and
mobile trips, on Leaflet (vendored, no CDN), over the province's own tiles when it hosts them."""
