# voxcast: `make run` brings the whole system up, `make test` runs the suite. Both install
# what they need (Debian packages, a virtualenv, the Asterisk runtime) and are safe to re-run.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTHON ?= python3
RUN_PACKAGES := debootstrap espeak-ng sox python3-venv ghostscript libtiff-tools openssl
# Kamailio in front of several nodes (`voxcast kamailio start`): `make deps-kamailio` on the
# host that runs it; the tests start one in front of two Asterisk instances.
KAMAILIO_PACKAGES := kamailio kamailio-postgres-modules
TEST_PACKAGES := $(RUN_PACKAGES) $(KAMAILIO_PACKAGES) sip-tester chromium php-cli php-curl phpunit
STAMP := .runtime/stamps

.PHONY: run stop status test test-sqlite unit integration deps test-deps deps-kamailio venv asterisk-runtime \
        bench-inbound bench-outbound bench-acd bench-reports bench-pacing bench-web bench-faults bench-scale clean-runtime

run: deps venv
	$(VENV)/bin/voxcast asterisk provision
	$(VENV)/bin/voxcast run

stop:
	$(VENV)/bin/voxcast stop

status:
	$(VENV)/bin/voxcast status

# The integration tests run twice: on PostgreSQL (Debian's server, started here) and, with
# the unit tests, on the embedded SQLite default; both passes at once on their own instances
# (scripts/test-all.sh), the SQLite summary last.
test: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	PY=$(PY) bash scripts/test-all.sh $(PYTEST_ARGS)

test-sqlite: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	$(PY) -m pytest -ra $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest -ra tests/unit $(PYTEST_ARGS)

bench-inbound: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	$(PY) bench/inbound_cps.py

bench-outbound: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	$(PY) bench/outbound_dialer.py

bench-acd: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	$(PY) bench/acd.py

# PostgreSQL (Debian's server, started here) with 10 M CDRs and 1 M agent states generated,
# and SQLite's campaign progress on 1 M contacts: a few minutes on 2 cores, not part of `test`.
bench-reports: venv
	@bash scripts/apt-install.sh postgresql
	$(PY) bench/reports.py $(BENCH_ARGS)

# Predictive pacing against the best fixed ratio: a simulation (no Asterisk), ~5 min on 2 cores.
bench-pacing: venv
	$(PY) bench/pacing.py $(BENCH_ARGS)

# SMS campaign of 100,000 contacts against the test SMSC vs a bare smpplib loop (no Asterisk).
bench-sms: venv
	$(PY) bench/sms_throughput.py $(BENCH_ARGS)

# The dialer's claim/place/close path in 1-8 processes on one PostgreSQL vs one real node.
bench-scale: test-deps venv
	VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk provision
	$(PY) bench/scale_out.py $(BENCH_ARGS)

# The web UI under 16 concurrent clients vs a bare Flask app on the same waitress settings.
bench-web: venv
	$(PY) bench/web.py $(BENCH_ARGS)

# A priced 2,000-contact campaign on PostgreSQL with and without faults (app SIGKILLed 5x,
# Asterisk and PostgreSQL restarted, the web UI killed mid-import); on a PostgreSQL cluster of its own.
bench-faults: test-deps venv
	$(PY) bench/faults.py $(BENCH_ARGS)

deps:
	@bash scripts/apt-install.sh $(RUN_PACKAGES)

test-deps:
	@bash scripts/apt-install.sh $(TEST_PACKAGES)

deps-kamailio:
	@bash scripts/apt-install.sh $(KAMAILIO_PACKAGES)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

clean-runtime:
	-$(VENV)/bin/voxcast stop
	-VOXCAST_INSTANCE=test $(VENV)/bin/voxcast asterisk stop
	rm -rf .runtime/run .runtime/test

# The browser libraries in webui/static/vendor/ (Chart.js), from frontend/package-lock.json;
# the output is committed, so only a change of version needs npm.
.PHONY: vendor-js
vendor-js:
	bash scripts/vendor-js.sh

# German (and future) UI translations: extract every marked string (templates, _(), lazy _l(),
# service messages marked N_()), merge into each catalogue, compile the .mo files Flask-Babel reads.
.PHONY: translations
translations: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output \
	    -o webui/translations/messages.pot .
	$(VENV)/bin/pybabel update -i webui/translations/messages.pot -d webui/translations \
	    --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d webui/translations --statistics
