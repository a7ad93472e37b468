#!/usr/bin/env bash
# Runs every Kiln test: tools/setup.sh (idempotent), then `bazel test //...`.
# Extra arguments go to `bazel test`, e.g.  tools/test.sh --config=asan
# The last line printed is always "N passed, N failed", counting individual
# GoogleTest cases from the JUnit XML of the tests of *this* invocation (found
# via the Build Event Protocol file, so stale XML from earlier runs is never
# counted; cached results are). A test target that failed to build, or a run
# that failed without a failing test case in its XML (crash, leak report at
# exit, timeout), counts as 1 failed. Disabled/skipped cases count as neither.
# Exits non-zero if anything failed or bazel itself failed.
# Plain bash + awk (mawk-compatible); no python needed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

bash tools/setup.sh || { echo "tools/setup.sh failed"; echo "0 passed, 1 failed"; exit 1; }

bep="$(mktemp "${TMPDIR:-/tmp}/kiln-bep.XXXXXX")"
trap 'rm -f "$bep"' EXIT

# .bazelrc puts sandboxes on /dev/shm; containers often cap it at 64 MiB,
# too small for linking LLVM/MLIR binaries, so fall back to the default then.
extra=()
shm_kb="$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')"
if [ -z "$shm_kb" ] || [ "$shm_kb" -lt 2097152 ]; then
  echo "test.sh: /dev/shm missing or under 2 GiB free; using --sandbox_base= (output base)"
  extra+=(--sandbox_base=)
fi

# --keep_going: build and run every test we can, so the counts cover them all.
bazel test --keep_going --build_event_json_file="$bep" ${extra[@]+"${extra[@]}"} "$@" //...
rc=$?

# BEP (one JSON object per line) -> counts. Records used:
#   targetConfigured with "testSize": a test target that was requested;
#   targetCompleted aborted with reason SKIPPED: incompatible with the platform
#     (target_compatible_with) -- not a failure;
#   testResult: one run/shard/attempt with its status and test.xml path.
counts="$(awk '
function str(line, key,    i, rest) {
  i = index(line, "\"" key "\":\"")
  if (i == 0) return ""
  rest = substr(line, i + length(key) + 4)
  return substr(rest, 1, index(rest, "\"") - 1)
}
function num(line, key,    i, rest) {
  i = index(line, "\"" key "\":")
  if (i == 0) return 0
  rest = substr(line, i + length(key) + 3)
  return rest + 0
}
function has(s, t) { return index(s, t) > 0 }
# Adds the testcase counts of one JUnit XML file to P/F/S; returns the number
# of testcase elements that failed (-1 if the file is unreadable).
function count_xml(path,    s, line, i, j, rest, e, tag, body, c, nf) {
  s = ""
  while ((getline line < path) > 0) s = s line "\n"
  if (close(path) != 0 && s == "") return -1
  # Drop CDATA sections (captured test output may contain anything).
  while ((i = index(s, "<![CDATA[")) > 0) {
    j = index(substr(s, i + 9), "]]>")
    if (j == 0) { s = substr(s, 1, i - 1); break }
    s = substr(s, 1, i - 1) substr(s, i + 9 + j + 2)
  }
  nf = 0
  while ((i = index(s, "<testcase")) > 0) {
    rest = substr(s, i)
    e = index(rest, ">")
    if (e == 0) break
    tag = substr(rest, 1, e)
    if (substr(tag, e - 1, 1) == "/") {
      body = ""; s = substr(rest, e + 1)
    } else {
      c = index(rest, "</testcase>")
      if (c == 0) c = length(rest) + 1
      body = substr(rest, e + 1, c - e - 1); s = substr(rest, c + 11)
    }
    if (has(body, "<failure") || has(body, "<error")) { F++; nf++ }
    else if (has(tag, "status=\"notrun\"") || has(tag, "result=\"skipped\"") || has(tag, "result=\"suppressed\"") || has(body, "<skipped")) S++
    else P++
  }
  return nf
}
/^\{"id":\{"targetConfigured":/ && has($0, "\"testSize\"") { tests[str($0, "label")] = 1; next }
/^\{"id":\{"targetCompleted":/ && has($0, "\"reason\":\"SKIPPED\"") { incompatible[str($0, "label")] = 1; next }
/^\{"id":\{"testResult":/ {
  label = str($0, "label")
  key = label SUBSEP num($0, "run") SUBSEP num($0, "shard")
  att = num($0, "attempt")
  if (key in attempt && attempt[key] > att) next
  attempt[key] = att
  status[key] = str($0, "status")
  xml = ""
  i = index($0, "\"name\":\"test.xml\",\"uri\":\"file://")
  if (i > 0) { rest = substr($0, i + 31); xml = substr(rest, 1, index(rest, "\"") - 1) }
  xmlpath[key] = xml
  ran[label] = 1
}
END {
  P = 0; F = 0; S = 0
  for (key in attempt) {
    nf = (xmlpath[key] == "") ? -1 : count_xml(xmlpath[key])
    # A run that did not pass must show up as at least one failure.
    if (status[key] != "PASSED" && nf <= 0) { F++; split(key, k, SUBSEP); print "counted as 1 failed: " k[1] " (" status[key] ")" > "/dev/stderr" }
  }
  for (label in tests) if (!(label in ran) && !(label in incompatible)) { F++; print "counted as 1 failed: " label " (did not run: failed to build or no status)" > "/dev/stderr" }
  print P, F, S
}' "$bep")"
read -r passed failed skipped <<<"${counts:-0 0 0}"

status=0
if [ "$rc" -ne 0 ]; then
  status=$rc
  if [ "$failed" -eq 0 ]; then
    # e.g. a BUILD/analysis error or a broken non-test target (exit 1), or no
    # test targets at all (exit 4): still report it as a failure.
    echo "counted as 1 failed: bazel test exited with code $rc" >&2
    failed=1
  fi
elif [ "$failed" -ne 0 ]; then
  status=1
fi
[ "$skipped" -gt 0 ] && echo "$skipped skipped/disabled (not counted)"
echo "$passed passed, $failed failed"
exit "$status"
