"""Fleet simulator: many light simulated loudspeakers speaking protocol v1 over a real broker."""
