#!/usr/bin/env bash
# A CI step: for each request in a file (one per line), generate the code and check it against
# its tests; fail the job on the first exit code that is not 0. The exit codes are the README's:
# 1 the code still fails its tests after the repairs, 2 bad input, 3 no model could answer,
# 4 no sandbox. The code (or the nearest miss) is kept in generated/ as a build artifact.
#
#   examples/ci/check_generated.sh examples/ci/requests.txt
# requests.txt lines are "TESTFILE<TAB>request"; test files are relative to that file.
set -euo pipefail
requests=${1:?usage: check_generated.sh REQUESTS_FILE}
base=$(cd "$(dirname "$requests")" && pwd)
out=${GENERATED_DIR:-generated}
mkdir -p "$out"

status=0
while IFS=$'\t' read -r tests request; do
  [ -n "$tests" ] && [ "${tests:0:1}" != "#" ] || continue
  name=$(basename "$tests" .py)
  name=${name#test_}
  echo "::group::$name: $request"
  if agentcode gen --no-history --test "$base/$tests" "$request" > "$out/$name.py"; then
    echo "ok: $out/$name.py passes $tests"
  else
    status=$?
    echo "FAILED (exit $status): $request" >&2
  fi
  echo "::endgroup::"
  [ "$status" -eq 0 ] || exit "$status"
done < "$requests"
