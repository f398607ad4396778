#!/usr/bin/env bash
# Run the deployment template tests (tests/deploy/test_*.py) with the project venv's Python.
# Last line of output is exactly: deploy: N passed, M failed
# Exit status: 0 when every test passed, 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="$root/.local/venv/bin/python"
if [ ! -x "$py" ]; then
  py="$(command -v python3 || true)"
  echo "tests/deploy: .local/venv/bin/python missing (run deploy/local/bootstrap.sh); using ${py:-nothing}" >&2
fi
if [ -z "$py" ] || ! "$py" -c 'import yaml' >/dev/null 2>&1; then
  echo "tests/deploy: no Python with PyYAML available" >&2
  echo "deploy: 0 passed, 1 failed"
  exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$root" || exit 1
"$py" -m unittest discover -s tests/deploy -t tests/deploy -p 'test_*.py' -v >"$log" 2>&1
rc=$?
cat "$log"

ran="$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -n1)"
failures="$(sed -n 's/^FAILED (.*failures=\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)"
errors="$(sed -n 's/^FAILED (.*errors=\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)"
unexpected="$(sed -n 's/^FAILED (.*unexpected successes=\([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)"
skipped="$(sed -n 's/^\(OK\|FAILED\) (.*skipped=\([0-9][0-9]*\).*/\2/p' "$log" | tail -n1)"
expected_failures="$(sed -n 's/^\(OK\|FAILED\) (.*expected failures=\([0-9][0-9]*\).*/\2/p' "$log" | tail -n1)"
failed=$(( ${failures:-0} + ${errors:-0} + ${unexpected:-0} ))
if [ -z "$ran" ]; then
  # The run did not get as far as a summary (import error, crash): count it as one failure.
  failed=$(( failed > 0 ? failed : 1 )); ran=0
fi
passed=$(( ran - ${failures:-0} - ${errors:-0} - ${unexpected:-0} - ${skipped:-0} - ${expected_failures:-0} ))
[ "$passed" -lt 0 ] && passed=0
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
