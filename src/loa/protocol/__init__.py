"""The wire protocol shared by server and loudspeaker agent (stdlib, pydantic, cryptography only)."""
