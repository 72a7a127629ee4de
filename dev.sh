#!/usr/bin/env bash
# One entry point for setting up and using agentcode from a checkout.
#   ./dev.sh demo   set up (venv, agentcode[local], bubblewrap) and run `gen | run` on the embedded model
#   ./dev.sh test   set up (plus the dev group, the mcp and serve extras, chromium) and run the test suite
#   ./dev.sh setup  set up only
# Idempotent: a second run reuses the venv and skips installs that are already done.
set -euo pipefail

cd "$(dirname "$0")"
VENV=${AGENTCODE_VENV:-.venv}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'dev.sh: error: %s\n' "$*" >&2; exit 1; }

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_bubblewrap() {
  command -v bwrap >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing bubblewrap (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    die "bubblewrap is needed for the local sandbox: install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap) and run this again"
  fi
}

# The page of `agentcode serve` is tested in a real headless browser (playwright drives it).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (apt-get), for the web page tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    die "chromium is needed for the web page tests: install it (Debian/Ubuntu: sudo apt-get install chromium) and run this again"
  fi
}

# The requirements of a PEP 735 dependency group, one per line (for a pip without --group).
group_requirements() {
  "$VENV/bin/python" - "$1" <<'PY'
import sys, tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["dependency-groups"][sys.argv[1]]))
PY
}

# ensure_venv EXTRAS [GROUP]: agentcode (editable) with EXTRAS, and the dependency group GROUP.
ensure_venv() {
  local extras=$1 group=${2:-} stamp python
  local pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  if [ ! -x "$VENV/bin/python" ]; then
    python=$(find_python) || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
    say "creating $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  stamp="$VENV/.agentcode-installed-$extras${group:+-$group}-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    say "installing agentcode[$extras]${group:+ and the $group group} into $VENV (the embedded model is about 1.1 GB, once)"
    "${pip[@]}" --upgrade pip
    # The editable install is one plain path entry (pyproject's package-dir): no import hook.
    "${pip[@]}" -e ".[$extras]"
    if [ -n "$group" ]; then
      # (not `| grep -q`: under pipefail, grep leaving early could fail the check)
      if [[ $("$VENV/bin/python" -m pip install --help) == *--group* ]]; then
        "${pip[@]}" --group "$group"
      else  # pip < 25.1 (the upgrade above was refused): the group's list, read from pyproject
        mapfile -t requirements < <(group_requirements "$group")
        "${pip[@]}" "${requirements[@]}"
      fi
    fi
    touch "$stamp"
  fi
}

cmd=${1:-demo}
case "$cmd" in
  setup)
    ensure_bubblewrap
    ensure_chromium
    ensure_venv local,mcp,serve dev
    ;;
  demo)
    ensure_bubblewrap
    ensure_venv local
    prompt=${2:-"print the first 10 prime numbers, one per line"}
    say "agentcode gen \"$prompt\" | agentcode run -"
    "$VENV/bin/agentcode" gen "$prompt" | "$VENV/bin/agentcode" run -
    ;;
  test)
    ensure_bubblewrap
    ensure_chromium
    ensure_venv local,mcp,serve dev
    shift || true
    "$VENV/bin/python" -m pytest -q "$@"
    ;;
  *)
    die "unknown command '$cmd': use demo, test or setup"
    ;;
esac
