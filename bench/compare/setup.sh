#!/usr/bin/env bash
# Create the benchmark venv (.bench-venv at the repo root) with whylogs and Evidently.
# Idempotent: a stamp holding the hash of requirements.txt makes a second run instant.
# Usage: bash bench/compare/setup.sh   (BENCH_VENV=/path overrides the location)
# Prints the venv's python path on stdout as its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${BENCH_VENV:-$root/.bench-venv}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
mkdir -p "$venv"
# Keep the venv out of git (and ruff) even though the repo's .gitignore has no entry for it.
[[ -f "$venv/.gitignore" ]] || printf '*\n' >"$venv/.gitignore"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$venv/bin/python"
    exit 0
fi

start=$SECONDS
[[ -x "$venv/bin/python" ]] || python3.11 -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$req"
"$venv/bin/python" -m pip check >&2
echo "$want" >"$stamp"
echo "bench venv ready in $((SECONDS - start)) s: $venv" >&2
echo "$venv/bin/python"
