#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs dependencies, builds and runs every test (unit + integration).
#   scripts/test.sh            dev build (Debug)
#   scripts/test.sh asan       ASan+UBSan build
# Extra arguments after the preset are passed to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-dev}
[ $# -gt 0 ] && shift

bash scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset "$preset" -j2 --timeout 600 "$@"
