"""The loudspeaker's behaviour as one pure state machine, shared by the agent and the simulator.

``core.DeviceCore`` (commands, repeats, manifests, receipts), ``playout.Playout`` (the timeline on
``loa.protocol.timeline.resolve``), ``items`` (what plays and what a receipt says), ``receipts`` (kept
until acknowledged), ``signals`` (events in, effects out). Standard library and ``loa.protocol`` only:
the agent imports it on a small board.
"""
