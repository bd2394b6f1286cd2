# Loa — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint types pytest bench browser office mosquitto icecast nats clean vendor-leaflet

install: $(STAMP)

# Re-install only when the project's dependency list changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Browser tests need /usr/bin/chromium: sudo apt-get install chromium"; exit 1; fi

# LibreOffice Writer turns reports into PDF; poppler's pdftotext reads them back in the report tests.
office:
	@if command -v soffice >/dev/null && command -v pdftotext >/dev/null \
		&& [ -e /usr/lib/libreoffice/program/libsclo.so ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing LibreOffice Writer/Calc and poppler-utils for the report tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils fonts-liberation >/dev/null; \
	else echo "Report tests need LibreOffice and pdftotext: sudo apt-get install libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils"; exit 1; fi

# Debian's Mosquitto and its clients: the broker tests start /usr/sbin/mosquitto with the files of
# `loa broker config` and connect with mosquitto_sub/mosquitto_pub as devices.
mosquitto:
	@if [ -x /usr/sbin/mosquitto ] && command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's mosquitto and mosquitto-clients for the broker tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null; \
	else echo "Broker tests need Debian's Mosquitto: sudo apt-get install mosquitto mosquitto-clients"; exit 1; fi

# Debian's Icecast 2: the live/relay tests start /usr/bin/icecast2 with the icecast.xml Loa
# writes (URL authentication by Loa); production runs it the same way (docs/operations.md).
icecast:
	@if [ -x /usr/bin/icecast2 ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's icecast2 for the live broadcast tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq icecast2 >/dev/null; \
	else echo "Live broadcast tests need Debian's Icecast: sudo apt-get install icecast2"; exit 1; fi

# Debian's NATS server: the clustered-broker tests start three /usr/sbin/nats-server nodes (MQTT and
# JetStream) from the files of `loa broker nats-config`, each on its own ports under /tmp.
nats:
	@if [ -x /usr/sbin/nats-server ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's nats-server for the clustered-broker tests…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null; \
	else echo "Clustered-broker tests need Debian's nats-server: sudo apt-get install nats-server"; exit 1; fi

# Leaflet (the map) is checked in under src/loa/web/static/vendor/leaflet/, so `make run` needs no npm.
# This re-creates it from the npm package, refusing a tarball whose SHA-512 is not the pinned one.
vendor-leaflet:
	$(PYTHON) tools/vendor_leaflet.py

run: install
	$(BIN)/loa demo --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

types: install
	$(BIN)/mypy

# The suite is bound by real-time waits (streams, brokers, fault injection), not CPU. PYTEST_WORKERS > 0 runs it
# in that many pytest-xdist processes (tests that need a fixed port share one worker, tests/conftest.py). The
# default stays one process: with four workers on two cores, browser tests (alert form, Swagger under the CSP)
# failed on time, so parallel runs need the browser tests grouped and a verified full run first.
PYTEST_WORKERS ?= 0
pytest: install browser office mosquitto icecast nats
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test: lint types pytest

bench: install mosquitto nats icecast
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
