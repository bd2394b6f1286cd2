"""Live broadcast (phát trực tiếp) and relay (tiếp sóng): sessions, the stream servers they go through
(Icecast in production, a relay inside Loa for small sites and the demo), tokens and source
credentials, recording and audit. The manifest carries them as stream items (docs/protocol.md)."""
