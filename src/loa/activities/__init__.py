"""Activities: registers of the non-radio channels (visual, mobile trips, press, portal, events)."""
