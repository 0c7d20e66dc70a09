# The two commands: `make run` (set up, migrate, seed, serve) and `make test` (set up, test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# llama-cpp-python compiles once (~7 min on 2 cores); pip caches the wheel for every later install.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: run test install install-test browser sandbox pgvector clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local,test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install sandbox
	$(BIN)/chatkiosk db upgrade
	$(BIN)/chatkiosk serve --demo

# Debian's Chromium for the browser tests (root or passwordless sudo); without it they skip,
# except on CI where they fail. fonts-noto-cjk renders Korean and Chinese in screenshots.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	  else echo "chromium is missing: the browser tests will skip (apt-get install chromium)"; fi; }

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
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$$pg-pgvector" || true; \
	  elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$$pg-pgvector" || true; \
	  else echo "pgvector is missing: vectors are searched in process (apt-get install postgresql-$$pg-pgvector)"; fi; fi

test: install-test browser sandbox pgvector
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info test-output
