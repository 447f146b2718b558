#!/bin/sh
# Runs every cmocka suite given, then prints one closing line
# "N passed, N failed" summed over all of them. Exit 1 on any failure.
passed=0; failed=0; bad_suites=""
tmp=$(mktemp)
for t in "$@"; do
    echo "== $(basename "$t")"
    "$t" >"$tmp" 2>&1
    rc=$?
    cat "$tmp"
    p=$(grep -o '\[  PASSED  \] [0-9]*' "$tmp" | awk '{s+=$NF} END {print s+0}')
    f=$(grep -o '\[  FAILED  \] [0-9]*' "$tmp" | awk '{s+=$NF} END {print s+0}')
    passed=$((passed + p)); failed=$((failed + f))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1)); bad_suites="$bad_suites $(basename "$t")(exit $rc)"
    elif [ $rc -ne 0 ]; then
        bad_suites="$bad_suites $(basename "$t")"
    fi
done
rm -f "$tmp"
[ -n "$bad_suites" ] && echo "failing suites:$bad_suites"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
