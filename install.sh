#!/usr/bin/env bash
# Build helm-fixup and hook it into Helm.
#
#   ./install.sh [--no-demo]
#
# Helm 4 (`helm version` reports v4): the binary is copied to <this dir>/bin/helm-fixup and
# this directory is installed as the Helm plugin `fixup` (a postrenderer/v1 plugin):
#   helm install ... --post-renderer fixup --post-renderer-args=-p --post-renderer-args=root-run
# Helm 3 or no Helm: the binary is copied to $HELM_FIXUP_BIN_DIR (default ~/.local/bin):
#   helm install ... --post-renderer helm-fixup --post-renderer-args -p --post-renderer-args root-run
#
# Environment:
#   HELM_BIN            helm binary to use (default: `helm` on PATH)
#   HELM_FIXUP_BINARY   use this prebuilt helm-fixup instead of running cargo (offline installs)
#   HELM_FIXUP_BIN_DIR  where the binary goes for Helm 3 (default ~/.local/bin)
#
# The same script is the Helm 4 plugin install/update hook. Helm runs it with HELM_PLUGIN_DIR
# set (and no arguments, HELM_BIN unset); then it only puts the binary into
# $HELM_PLUGIN_DIR/bin/ (building it when this is a source checkout and cargo exists) and
# never calls helm itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_name="helm-fixup"
plugin_name="fixup"

work_dir=""
cleanup() {
  if [[ -n "${work_dir}" && -d "${work_dir}" ]]; then
    rm -rf "${work_dir}"
  fi
}
trap cleanup EXIT

say() { echo "install.sh: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# install_binary SRC DEST: copy atomically, skip when DEST already has the same bytes.
install_binary() {
  local src="$1" dest="$2"
  [[ -x "${src}" ]] || die "${src} is not an executable file"
  if [[ -e "${dest}" ]] && cmp -s "${src}" "${dest}"; then
    return 0
  fi
  mkdir -p "$(dirname "${dest}")"
  cp "${src}" "${dest}.tmp.$$"
  chmod 0755 "${dest}.tmp.$$"
  mv -f "${dest}.tmp.$$" "${dest}"
}

# build_binary DIR: cargo build in DIR, print the path of the release binary.
build_binary() {
  local dir="$1"
  say "building ${bin_name} (cargo build --release --locked)"
  (cd "${dir}" && cargo build --release --locked >&2)
  local target="${CARGO_TARGET_DIR:-${dir}/target}"
  [[ "${target}" == /* ]] || target="${dir}/${target}"
  echo "${target}/release/${bin_name}"
}

# ---------------------------------------------------------------------------------------------
# Hook mode: `helm plugin install|update` runs us with HELM_PLUGIN_DIR set.
if [[ -n "${HELM_PLUGIN_DIR:-}" ]]; then
  dest="${HELM_PLUGIN_DIR}/bin/${bin_name}"
  if [[ -n "${HELM_FIXUP_BINARY:-}" ]]; then
    install_binary "${HELM_FIXUP_BINARY}" "${dest}"
  elif [[ -f "${HELM_PLUGIN_DIR}/Cargo.toml" ]] && command -v cargo >/dev/null 2>&1; then
    install_binary "$(build_binary "${HELM_PLUGIN_DIR}")" "${dest}"
  elif [[ -x "${dest}" ]]; then
    : # prebuilt binary shipped with the plugin: nothing to do
  else
    die "no ${bin_name} binary: install Rust (cargo) or set HELM_FIXUP_BINARY=/path/to/${bin_name}"
  fi
  say "plugin binary: ${dest}"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Direct mode.
demo=1
for arg in "$@"; do
  case "${arg}" in
    --no-demo) demo=0 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: ${arg} (usage: install.sh [--no-demo])" ;;
  esac
done

if [[ -n "${HELM_FIXUP_BINARY:-}" ]]; then
  built="${HELM_FIXUP_BINARY}"
  [[ -x "${built}" ]] || die "HELM_FIXUP_BINARY=${built} is not executable"
else
  command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust or set HELM_FIXUP_BINARY=/path/to/${bin_name}"
  built="$(build_binary "${here}")"
fi

helm_bin="${HELM_BIN:-}"
if [[ -z "${helm_bin}" ]] && command -v helm >/dev/null 2>&1; then
  helm_bin="helm"
fi
helm_major=""
if [[ -n "${helm_bin}" ]]; then
  version="$("${helm_bin}" version --template '{{.Version}}' 2>/dev/null || true)"
  helm_major="${version#v}"
  helm_major="${helm_major%%.*}"
  say "found ${helm_bin} ${version:-(version unknown)}"
else
  say "helm not found (set HELM_BIN or put helm on PATH)"
fi

# Helm 3 prints "failed to load plugins" for Helm 4 plugins in its plugins dir: never mix them.
if [[ "${helm_major}" == "4" ]]; then
  install_binary "${built}" "${here}/bin/${bin_name}"
  if "${helm_bin}" plugin list 2>/dev/null | awk 'NR > 1 {print $1}' | grep -qx "${plugin_name}"; then
    say "replacing the installed plugin ${plugin_name}"
    "${helm_bin}" plugin uninstall "${plugin_name}" >&2
  fi
  # The install hook (this script) finds the same binary and does nothing more.
  HELM_FIXUP_BINARY="${here}/bin/${bin_name}" "${helm_bin}" plugin install "${here}" >&2
  say "installed Helm 4 plugin '${plugin_name}'. Use it with:"
  say "  helm install RELEASE CHART --post-renderer ${plugin_name} --post-renderer-args=-p --post-renderer-args=root-run"
  say "  (or: HELM_FIXUP_PROFILES=root-run helm install RELEASE CHART --post-renderer ${plugin_name})"
  fixup_path="${here}/bin/${bin_name}"
else
  bin_dir="${HELM_FIXUP_BIN_DIR:-${HOME}/.local/bin}"
  fixup_path="${bin_dir}/${bin_name}"
  install_binary "${built}" "${fixup_path}"
  say "installed ${fixup_path}"
  case ":${PATH}:" in
    *":${bin_dir}:"*) ;;
    *) say "note: ${bin_dir} is not on PATH; use the full path or add it to PATH" ;;
  esac
  if [[ "${helm_major}" == "3" ]]; then
    say "use it with Helm 3:"
    say "  helm install RELEASE CHART --post-renderer ${bin_name} --post-renderer-args -p --post-renderer-args root-run"
  fi
fi

[[ "${demo}" == 1 ]] || exit 0

# ---------------------------------------------------------------------------------------------
# Demo: the example chart (or the example stream) with the root-run profile.
work_dir="$(mktemp -d "${TMPDIR:-/tmp}/helm-fixup-demo.XXXXXX")"
summary="${work_dir}/summary.txt"
out="${work_dir}/out.yaml"
chart="${here}/examples/fixup-demo"
say "demo: root-run on the example chart"
case "${helm_major}" in
  4)
    "${helm_bin}" template demo "${chart}" --namespace monitoring \
      --post-renderer "${plugin_name}" --post-renderer-args=-p --post-renderer-args=root-run \
      --post-renderer-args=--summary-file "--post-renderer-args=${summary}" >"${out}" ||
      die "demo failed: helm template with --post-renderer ${plugin_name}"
    ;;
  3)
    "${helm_bin}" template demo "${chart}" --namespace monitoring \
      --post-renderer "${fixup_path}" --post-renderer-args -p --post-renderer-args root-run \
      --post-renderer-args --summary-file --post-renderer-args "${summary}" >"${out}" ||
      die "demo failed: helm template with --post-renderer ${fixup_path}"
    ;;
  *)
    "${fixup_path}" -p root-run --summary-file "${summary}" \
      <"${here}/examples/streams/demo.yaml" >"${out}" ||
      die "demo failed: ${fixup_path} on examples/streams/demo.yaml"
    ;;
esac
say "demo output: $(grep -c '^kind:' "${out}") objects; summary:"
cat "${summary}" >&2
