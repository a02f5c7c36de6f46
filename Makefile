# bitunix-bot: two commands on a fresh machine (Python 3.11 + a C compiler):
#   make run    install and run the bot against the built-in simulator with bundled data
#   make test   install with test extras and run the whole suite with coverage
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed
NATIVE_SOURCES := $(wildcard src/native/*.c src/native/*.h src/native/*.pyx src/native/*.pxd) CMakeLists.txt
COV_MIN ?= 90
# Exact versions with hashes (uv pip compile): the test/dev environment, the run
# environment (the package's runtime dependencies only), the build tools. `make lock`.
LOCK_TEST := requirements/lock-test.txt
LOCK_RUN := requirements/lock-run.txt
LOCK_BUILD := requirements/lock-build.txt
LOCK_TOOLS := requirements/lock-tools.txt
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 $(if $(UPGRADE),--upgrade)

.PHONY: tools help run test bench bench-peers lint docs debug sanitize clean venv lock wheel bench-faults soak

help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The locked dependencies first (hash-checked: pip takes hashes only in that mode, not in
# a constraints file), then the package itself, editable: Python files are served from
# src/, the native module is rebuilt whenever a native source, pyproject.toml or the lock
# changes. `pip check`: the lock satisfies the package's own bounds.
$(STAMP): $(VENV)/bin/python pyproject.toml $(LOCK_TEST) $(NATIVE_SOURCES)
	$(PIP) install --quiet --require-hashes -r $(LOCK_TEST)
	$(PIP) install --quiet --no-deps -e .
	$(PIP) check
	@touch $@

venv: $(STAMP) ## create .venv and install the package with test extras

# checkov and pip-audit in a virtualenv of their own (requirements/tools.in says why).
TOOLS_VENV := .venv-tools
$(TOOLS_VENV)/.installed: $(LOCK_TOOLS)
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK_TOOLS)
	@touch $@

tools: $(TOOLS_VENV)/.installed ## the checkers' own virtualenv (checkov, pip-audit)

run: $(STAMP) ## run the bot against the built-in simulator with bundled data
	$(VENV)/bin/bitunix-bot run

test: $(STAMP) tools chromium ## lint, type-check and run the whole suite with coverage (every package >= 90%)
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/bandit -c pyproject.toml -r src -q
	$(PY) -m pytest --cov=bitunix --cov-report=term --cov-report=json:coverage.json -p no:cacheprovider
	$(PY) tools/check_coverage.py coverage.json --min $(COV_MIN)

# The dashboard test drives a real headless Chromium (Debian's package): installed when
# missing (with sudo when not root), quietly; nothing happens when it is there.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  echo "installing chromium (the dashboard test's headless browser)"; \
	  $$SUDO apt-get update -qq >/dev/null && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# results/bench.json: pytest-benchmark's JSON plus the session's medians and ratios
# (bench/conftest.py); docs/performance.md's benchmark tables are rendered from it.
bench: $(STAMP) ## run the pytest-benchmark suites (ratios against in-run baselines), JSON in results/
	@mkdir -p results
	$(PY) -m pytest bench -p no:cacheprovider --benchmark-only --benchmark-columns=min,median,mean,ops,rounds --benchmark-sort=name --benchmark-json=results/bench.json $(BENCH_ARGS)
	$(PY) tools/perf_tables.py --bench results/bench.json

# nautilus_trader lives in its own venv: never a dependency of the package. Pinned here;
# PEERS_ARGS=--trades N for a shorter run.
PEERS_VENV := .venv-peers
NAUTILUS_VERSION := 1.221.0
$(PEERS_VENV)/.installed-$(NAUTILUS_VERSION):
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check nautilus_trader==$(NAUTILUS_VERSION)
	@touch $@

bench-peers: $(STAMP) $(PEERS_VENV)/.installed-$(NAUTILUS_VERSION) ## ours vs nautilus_trader on the same data in one run: results/peers.json
	$(PY) bench/peers/run.py --peer-python $(PEERS_VENV)/bin/python --out results/peers.json $(PEERS_ARGS)
	$(PY) tools/perf_tables.py --peers results/peers.json

# Each fault scenario is bounded (30 s); results/faults-<UTC>/ gets faults.json and faults.md.
bench-faults: $(STAMP) ## fault benchmarks against the simulator's fault injection, orders open
	$(PY) -m pytest bench/test_bench_faults.py -p no:cacheprovider --benchmark-only -s --benchmark-columns=median,rounds $(BENCH_ARGS)

# Bounded: SOAK_SECONDS (600) or SOAK_MESSAGES (10^7), whichever comes first; SOAK_SPEED,
# SOAK_RSS_SLOPE_MIB_MIN, SOAK_DRIFT_RATIO, SOAK_MIN_ORDERS. Exit 1 names the failed check.
soak: $(STAMP) ## bot vs simulator for minutes: RSS, loop lag, latency, GC into results/soak-<UTC>/
	$(PY) bench/soak.py

# The scanners: docs/security.md says what each checks and where an exception is recorded.
# checkov runs offline (.checkov.yaml); pip-audit asks pypi.org and, when it cannot, says
# "registry not reachable ... skipped" and does not fail (tools/audit_deps.py).
lint: $(STAMP) tools ## ruff, mypy --strict, hadolint, bandit, checkov (Terraform, Dockerfile), pip-audit (locks)
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile
	$(VENV)/bin/bandit -c pyproject.toml -r src -q
	$(TOOLS_VENV)/bin/checkov --config-file .checkov.yaml --quiet --directory deploy/terraform
	$(TOOLS_VENV)/bin/checkov --config-file .checkov.yaml --quiet --file Dockerfile
	$(PY) tools/audit_deps.py --pip-audit $(TOOLS_VENV)/bin/pip-audit $(LOCK_RUN) $(LOCK_TEST)

# docs/config-reference.md is generated from the config types; tests/test_config_reference.py
# fails when it is stale.
docs: $(STAMP) ## regenerate docs/config-reference.md from the config types
	$(PY) tools/config_reference.py --out docs/config-reference.md

debug: $(VENV)/bin/python ## rebuild the native core with ASan/UBSan and debug symbols
	$(PIP) install --no-deps -e . -Cbuild-dir=build/debug -Ccmake.build-type=Debug -Ccmake.define.BITUNIX_SANITIZE=ON
	@rm -f $(STAMP)

# ASan needs its runtime loaded before Python; the GIL and RSS tests are left out because
# the sanitizer's own allocator and slowdown change what they measure.
sanitize: debug ## run the native tests under ASan/UBSan (then `make venv` restores the release build)
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LD_PRELOAD="$$(cc -print-file-name=libasan.so) $$(cc -print-file-name=libubsan.so)" \
	$(PY) -m pytest tests/features tests/backtest/test_research.py -p no:cacheprovider -q \
	  --deselect tests/features/test_gil.py --deselect tests/features/test_memory.py

lock: $(VENV)/bin/python ## re-pin requirements/lock-*.txt from pyproject.toml (UPGRADE=1: newest allowed)
	$(PIP) install --quiet --require-hashes -r $(LOCK_BUILD)
	$(UV_COMPILE) pyproject.toml --extra test -o $(LOCK_TEST)
	$(UV_COMPILE) pyproject.toml -c $(LOCK_TEST) -o $(LOCK_RUN)
	$(UV_COMPILE) requirements/build.in -c $(LOCK_TEST) -o $(LOCK_BUILD)
	$(UV_COMPILE) requirements/tools.in -o $(LOCK_TOOLS)

# A plain `pip wheel` is tagged linux_x86_64, which PyPI and pip on other distributions
# refuse; auditwheel checks the symbols the module uses and retags it manylinux (it needs
# no library beyond glibc and libm, so nothing is grafted in).
wheel: $(VENV)/bin/python ## build a manylinux wheel into dist/
	$(PIP) install --quiet --require-hashes -r $(LOCK_BUILD)
	rm -rf build/wheel dist/raw
	$(PIP) wheel --quiet --no-deps -Cbuild-dir=build/wheel -w dist/raw .
	PATH="$(abspath $(VENV))/bin:$$PATH" auditwheel repair --wheel-dir dist dist/raw/bitunix_bot-*.whl
	rm -rf dist/raw
	@ls dist/*manylinux*.whl

clean: ## remove build products and the virtualenv
	rm -rf build dist $(VENV) $(PEERS_VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks coverage.json .coverage
