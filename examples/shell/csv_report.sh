#!/usr/bin/env bash
# Data in, a program written for it, artifacts out: the model sees sales.csv's name and first
# lines (--file), gen runs its code once on the file in the sandbox (and repairs a crash), then
# `run` runs the saved program again, keeping what it writes (--out). Writes report.py and
# OUT_DIR (default out/) in the current directory.
set -euo pipefail
here=$(dirname "$0")
out=${1:-out}

agentcode gen --file "$here/sales.csv" \
  "read sales.csv, print the total amount per region sorted by region, one 'region,total' line each, and write the same lines to totals.csv" \
  > report.py

agentcode run --file "$here/sales.csv" --out "$out" --overwrite report.py
ls "$out"
