"""Emergency alerts: one message to every loudspeaker of the communes hit by a storm or a flood,
pre-empting whatever plays, repeated until someone stops it."""
