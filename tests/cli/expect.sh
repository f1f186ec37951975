# shellcheck shell=bash disable=SC2154,SC2034
# What the cli tests share, sourced after setting `tally` (the binary) and `work` (a scratch
# directory): failures are counted in `failures`, and each says what ran and what it printed.
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

expect() {  # expect CODE PATTERN -- ARGS...: exit code and a pattern in stdout+stderr
  local code="$1" pattern="$2"
  shift 3
  local out actual
  out=$("$tally" "$@" 2>&1)
  actual=$?
  if [ "$actual" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    fail "tally $* -> exit $actual (want $code), output:"
    echo "$out" | head -20
  fi
}

expect_error() {  # expect_error CODE PATTERN -- ARGS...: that exit code, one matching stderr line
  local code="$1" pattern="$2"
  shift 3
  "$tally" "$@" >/dev/null 2>"$work/err"
  local actual=$? lines
  lines=$(wc -l <"$work/err")
  if [ "$actual" -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -q "^tally: error: " "$work/err" ||
    ! grep -qE -- "$pattern" "$work/err"; then
    fail "tally $* -> exit $actual, $lines stderr lines (want $code and 1 matching '$pattern'):"
    cat "$work/err"
  fi
}

expect_one_line_error() {  # usage errors: exit 2 and exactly one line on stderr
  expect_error 2 "" -- "$@"
}

literal() {  # literal TEXT: an extended regular expression matching TEXT itself
  # shellcheck disable=SC2001  # a bracket expression, which ${//} cannot escape with
  sed 's/[][\\.^$*+?(){}|]/\\&/g' <<<"$1"
}

# The reasons cli/flag_validators.cpp gives, each followed by the range.
not_a_number="is not a number in"
not_a_whole_number="is not a whole number in"
not_a_size="is not a size such as 12GiB or 500MB, from 1 B to 2^64 - 1 B"

# expect_refused FLAG REASON VALUE... -- ARGS...: `tally ARGS FLAG V` exits 2 with one stderr line
# "FLAG: 'V' REASON" (REASON read literally) for V = nan, inf, -inf and each VALUE.
expect_refused() {
  local flag="$1" reason="$2" values=(nan inf -inf) value
  shift 2
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
    values+=("$1")
    shift
  done
  shift
  for value in "${values[@]}"; do
    expect_error 2 "$(literal "$flag: '$value' $reason")" -- "$@" "$flag" "$value"
  done
}

finish() {  # finish WHAT: the summary line and the exit status
  if [ "$failures" -ne 0 ]; then
    echo "$failures $1 checks failed"
    exit 1
  fi
  echo "all $1 checks passed"
}
