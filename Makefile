# Set-up and checks for a fresh Debian machine with Python 3.11.
#   make demo   run the whole pipeline on the bundled example mailbox
#   make test   the test suite, against a real Dovecot started by the fixtures
#   make eval   detection quality on ../shared/corpus/dev
#   make bench  speed and memory of a scan on 10,000 generated messages

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CORPUS ?= ../shared/corpus/dev

.PHONY: install demo test eval bench dovecot clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	rm -rf .demo && mkdir -p .demo && cp -r examples/mailbox .demo/mailbox
	$(BIN)/assistant --config examples/demo.toml scan
	$(BIN)/assistant --config examples/demo.toml tasks

# Dovecot comes from Debian's packages.  Without root the server tests skip with a
# line saying how to install it; under CI=true a missing Dovecot fails the run.
dovecot:
	@if ! command -v dovecot >/dev/null 2>&1 && ! test -x /usr/sbin/dovecot; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Dovecot (dovecot-imapd) from Debian's packages"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd >/dev/null; \
	  else \
	    echo "*** Dovecot is missing and this is not root: run 'sudo apt-get install dovecot-imapd'. Server tests will skip. ***"; \
	  fi; \
	fi

test: $(STAMP) dovecot
	$(BIN)/python -m pytest

eval: $(STAMP)
	$(BIN)/python bench/eval.py $(CORPUS)

# Byte-compiled first, as pip does for an installed package: a machine that sets
# PYTHONDONTWRITEBYTECODE (CI images, this project's dev box) would otherwise compile
# the package's source on every run of the command timed.
bench: $(STAMP) dovecot
	$(BIN)/python -m compileall -q assistant
	$(BIN)/python bench/detect_speed.py $(CORPUS)
	$(BIN)/python bench/scan_bench.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
