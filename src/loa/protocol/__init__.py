"""The wire protocol shared by the server and the loudspeaker agent (stdlib + pydantic + cryptography only)."""
