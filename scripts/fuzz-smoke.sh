#!/usr/bin/env bash
# A short fuzz run of every target in fuzz/ (about a minute in all), failing on any crash.
#
#   bash scripts/fuzz-smoke.sh                 # FUZZ_SECONDS=30 per target
#   FUZZ_SECONDS=300 bash scripts/fuzz-smoke.sh
#   FUZZ_TARGETS="pipeline" bash scripts/fuzz-smoke.sh
#
# Stable Rust only: cargo-fuzz (from crates.io, installed here when missing) drives libFuzzer
# with `--sanitizer none`; RUSTC_BOOTSTRAP=1 lets the stable compiler accept the one unstable
# flag cargo-fuzz passes. The seed corpus is the example streams. A crash leaves its input in
# fuzz/artifacts/TARGET/: minimise it (`cargo fuzz tmin`), fix the bug, and add the input to
# tests/fuzz-crashes/ named after the failure.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-split_edit pipeline fast_parse}
fuzz_version=0.13.2

if ! command -v cargo-fuzz >/dev/null 2>&1 || ! cargo fuzz --version 2>/dev/null | grep -q "$fuzz_version"; then
  cargo install cargo-fuzz --version "$fuzz_version" --locked
fi
# libFuzzer is C++, built by libfuzzer-sys.
if ! command -v c++ >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++
fi

cd "${repo_root}/fuzz"
export RUSTC_BOOTSTRAP=1
for target in ${targets}; do
  corpus="corpus/${target}"
  mkdir -p "${corpus}"
  for f in ../examples/streams/*.yaml ../tests/fuzz-crashes/*; do
    [[ -f "$f" ]] || continue
    name=$(basename "$f")
    if [[ "${target}" == pipeline ]]; then
      # The first byte picks the profile set; seed each stream with every set.
      for pick in 0 1 2 3 4 5; do
        [[ -f "${corpus}/${pick}-${name}" ]] || { printf '%b' "\\x0${pick}"; cat "$f"; } >"${corpus}/${pick}-${name}"
      done
    else
      [[ -f "${corpus}/${name}" ]] || cp "$f" "${corpus}/${name}"
    fi
  done
  echo "== fuzz ${target} for ${seconds}s" >&2
  log=$(mktemp)
  status=0
  cargo fuzz run --sanitizer none "${target}" "${corpus}" -- \
    -max_total_time="${seconds}" -timeout=5 -max_len=20000 -print_final_stats=1 >"${log}" 2>&1 || status=$?
  # libFuzzer's progress lines are many: show the verdict and the statistics.
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|panicked|ERROR|SUMMARY|Test unit written' "${log}" >&2 || true
  if [[ ${status} -ne 0 ]]; then
    tail -n 40 "${log}" >&2
    rm -f "${log}"
    echo "fuzz ${target}: crash (exit ${status}); input in fuzz/artifacts/${target}/" >&2
    exit 1
  fi
  rm -f "${log}"
done
echo "fuzz smoke: ${targets} ran ${seconds}s each without a crash" >&2
