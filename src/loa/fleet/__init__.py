"""The loudspeaker fleet: devices, enrolment, the MQTT gateway, commands, status and proof of play."""
