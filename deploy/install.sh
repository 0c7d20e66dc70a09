#!/bin/sh
# Install chatkiosk into a virtual environment at PREFIX: the Dockerfile's install step, and
# what the suite runs (tests/scale/test_deploy.py) to prove it works without Docker.
#   deploy/install.sh PREFIX [--local-model]
# --local-model adds the bundled local model (llama-cpp-python compiles once, ~7 min on 2 cores).
set -eu
prefix=${1:?usage: deploy/install.sh PREFIX [--local-model]}
extras=""
[ "${2:-}" = "--local-model" ] && extras="[local]"
src=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$prefix"
"$prefix/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$prefix/bin/pip" install --quiet --disable-pip-version-check "$src$extras"
"$prefix/bin/chatkiosk" --help >/dev/null
echo "chatkiosk installed in $prefix"
