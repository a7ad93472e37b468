#!/usr/bin/env bash
# Builds tests/fuzz/parser_fuzzer.cc, //ir and the kernel IR (//codegen:kernel) with clang-19 (-fsanitize=fuzzer,address,undefined;
# Debian's clang-19, libfuzzer-19-dev and libclang-rt-19-dev, installed by tools/setup.sh) and
# runs it for KILN_FUZZ_SECONDS (default 60) from the seed corpus of real dumps in
# tests/fuzz/corpus. A crash, sanitizer report, leak, slow input (over 10 s) or more than 2 GiB
# of memory fails the run; libFuzzer prints the input that did it.
# As a Bazel test (//tests:parser_fuzz_test) it runs from the runfiles tree; by hand:
#   bash tests/fuzz/run_fuzzer.sh            (from the repository root)
set -euo pipefail

root="${TEST_SRCDIR:+$TEST_SRCDIR/$TEST_WORKSPACE}"
root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
work="${TEST_TMPDIR:-$(mktemp -d)}"
seconds="${KILN_FUZZ_SECONDS:-60}"

clang="$(command -v clang++-19 || true)"
if [ -z "$clang" ]; then
  echo "run_fuzzer.sh: clang++-19 not found (tools/setup.sh installs clang-19, libfuzzer-19-dev, libclang-rt-19-dev)" >&2
  exit 1
fi

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -I "$root")
objects=()
kernel_ir=(index_range.cc kernel.cc kernel_parser.cc runtime_extent.cc)
for src in "$root"/ir/*.cc "${kernel_ir[@]/#/$root/codegen/}"; do  # two compilers at a time (two cores)
  objects+=("$work/$(basename "$(dirname "$src")")_$(basename "$src" .cc).o")
  "$clang" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "${objects[-1]}" &  # coverage for libFuzzer
  [ $(( ${#objects[@]} % 2 )) -eq 0 ] && wait
done
wait  # a failed compile leaves its object missing, and the link below fails
"$clang" "${flags[@]}" -fsanitize=fuzzer "$root/tests/fuzz/parser_fuzzer.cc" "${objects[@]}" -o "$work/parser_fuzzer"

# libFuzzer adds what it finds to the first corpus directory: a writable copy.
mkdir -p "$work/corpus"
cp "$root"/tests/fuzz/corpus/* "$work/corpus/"
cd "$work"
"$work/parser_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 "$work/corpus"
