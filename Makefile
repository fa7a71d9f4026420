# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make demo   — venv, install, run the end-to-end demo on the bundled Adult data
#   make test   — the same install plus test extras, then the whole suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
APT_PACKAGES := fontconfig fonts-dejavu-core poppler-utils

.PHONY: demo test check install install-test install-check system-deps java bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Fonts for WeasyPrint (it crashes with none), poppler for PDF checks. Skipped when present.
system-deps:
	@if ! fc-list 2>/dev/null | grep -qi dejavu || ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else echo "note: install $(APT_PACKAGES) (needs root) for PDF reports"; fi; fi

# A Java runtime for pyspark (--engine spark and the `spark` tests). Skipped when one is present.
java:
	@if ! command -v java >/dev/null && [ -z "$$JAVA_HOME" ]; then \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
	    || echo "note: openjdk-17-jre-headless unavailable; the spark tests will be skipped with that reason"; \
	  else echo "note: install openjdk-17-jre-headless (needs root) for --engine spark; the spark tests will be skipped"; fi; fi

install: $(BIN)/python system-deps
	$(PIP) install -q -c constraints.txt .

install-test: $(BIN)/python system-deps java
	$(PIP) install -q -c constraints.txt ".[test,spark]"
	@if [ "$$(id -u)" = 0 ] && ! command -v chromium >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "note: chromium unavailable; the browser test will be skipped with that reason"; fi
	@# SoftHSM2: a software PKCS#11 token for the key-on-a-token tests (skipped with the reason without it)
	@if [ "$$(id -u)" = 0 ] && ! command -v softhsm2-util >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2 >/dev/null) || echo "note: softhsm2 unavailable; the PKCS#11 tests will be skipped with that reason"; \
	elif ! command -v softhsm2-util >/dev/null; then echo "note: install softhsm2 (needs root) for the PKCS#11 tests"; fi
	@# strace: the store-lock test delays one process's lock call with it (skipped with the reason without it)
	@if [ "$$(id -u)" = 0 ] && ! command -v strace >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null) || echo "note: strace unavailable; one store-lock test will be skipped with that reason"; \
	elif ! command -v strace >/dev/null; then echo "note: install strace (needs root) for the store-lock test"; fi

install-check: $(BIN)/python
	$(PIP) install -q -c constraints.txt ".[check]"

# ruff (lint + format) and mypy over the whole package (the mapped folders are symlinked into qaharness/)
check: install-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: install
	$(BIN)/qaharness demo

test: install-test
	# one BLAS/OpenMP thread per xdist worker: 2 workers on 2 cores, no oversubscription
	cd tests && OMP_NUM_THREADS=1 ../$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: install
	$(BIN)/python benchmarks/bench_fidelity.py

clean:
	rm -rf $(VENV) build *.egg-info qaharness-demo
