#!/usr/bin/env bash
# Create .venv and install the project (with test tools when called with "dev").
# Re-runs are cheap: nothing is reinstalled unless pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

extra="${1:-run}"
python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating virtualenv in .venv"
  "$python_bin" -m venv .venv
fi

hash="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
# A dev install includes everything the run command needs.
if [ -f ".venv/.installed-$hash-dev" ] || [ -f ".venv/.installed-$hash-$extra" ]; then
  exit 0
fi
target="."
[ "$extra" = "dev" ] && target=".[dev]"
echo "==> Installing dependencies (pinned by constraints.txt)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e "$target"
rm -f .venv/.installed-*
touch ".venv/.installed-$hash-$extra"
