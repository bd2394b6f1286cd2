"""Web Push: phones (and desktop browsers) of signed-in people told when a loudspeaker goes offline or
a bulletin from above waits for the commune (docs/operations.md, "Web Push")."""
