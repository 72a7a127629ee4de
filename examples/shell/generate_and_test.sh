#!/usr/bin/env bash
# Verified generation: gen runs each candidate against your tests in the sandbox and repairs
# it until they pass. Its exit code says whether they did (0) or not (1): a script or a CI job
# stops on it (set -e). The code is printed either way, the nearest miss when none passed.
# Writes slugify.py in the current directory.
set -euo pipefail
here=$(dirname "$0")

agentcode gen --test "$here/test_slugify.py" \
  "a function slugify(title) -> str: lowercase, runs of non-alphanumerics become one '-', no '-' at either end" \
  > slugify.py
echo "slugify.py passes test_slugify.py"

# The program is ordinary Python: use it like any other module (here in the sandbox).
printf 'from slugify import slugify\nprint(slugify("Hello, World!"))\n' \
  | agentcode run --file slugify.py -
