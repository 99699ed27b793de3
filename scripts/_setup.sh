# Sourced by scripts/start and scripts/test: creates .venv in the checkout and installs the
# package editable, with the extras named in $1. Re-runs are fast: pip runs only when
# pyproject.toml or the extras changed since the last install (a stamp file records it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${1:-}"

pick_python() {
  for py in "${PYTHON:-}" python3 python3.12 python3.13 python; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  echo "OpenCode needs Python 3.11 or newer; none found (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  py="$(pick_python)"
  echo "setting up .venv with $("$py" --version)" >&2
  "$py" -m venv .venv
fi

stamp_hash() {
  { cat pyproject.toml; echo "extras=$1"; } | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}
installed() {  # is .venv up to date for extras $1? (an install with dev extras serves a plain one too)
  [ -x .venv/bin/opencode ] || return 1
  [ "$(cat ".venv/.installed-$1" 2>/dev/null)" = "$(stamp_hash "$1")" ] && return 0
  [ -z "$1" ] && [ "$(cat .venv/.installed-dev 2>/dev/null)" = "$(stamp_hash dev)" ]
}
if ! installed "$extras"; then
  spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  echo "installing opencode into .venv ($spec)" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
  stamp_hash "$extras" > ".venv/.installed-$extras"
fi
