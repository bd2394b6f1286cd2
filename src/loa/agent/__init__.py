"""The loudspeaker agent: the program on the device. Imports only ``loa.protocol`` and its own modules
(plus pydantic, cryptography, httpx and aiomqtt), so it installs alone on a small Linux board."""
