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
#   HELM_BIN                helm binary to use (default: `helm` on PATH)
#   HELM_FIXUP_BINARY       use this prebuilt helm-fixup instead of running cargo (offline installs)
#   HELM_FIXUP_BIN_DIR      where the binary goes for Helm 3, and the link to the plugin's binary
#                           for Helm 4 (default ~/.local/bin)
#   HELM_FIXUP_NO_LINK=1    no such link for Helm 4
# Plugin hook only:
#   HELM_FIXUP_ARCHIVE      a release archive helm-fixup-VERSION-OS-ARCH.tar.gz (.sha256 beside it)
#   HELM_FIXUP_RELEASE_URL  where to download the release archive from
#                           (default: <sourceURL in plugin.yaml>/releases/download/vVERSION)
#   HELM_FIXUP_OFFLINE=1    never download
#
# The same script is the Helm 4 plugin install/update hook. Helm runs it with HELM_PLUGIN_DIR
# set (no arguments on install, --update on update, HELM_BIN unset); then it only puts the
# binary into $HELM_PLUGIN_DIR/bin/ (see "Hook mode" below for where it comes from) and never
# calls helm itself.
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

# link_cli BINARY: make `helm-fixup` (diagnose, last, explain) one command away for a Helm 4
# user, whose plugin binary lives wherever Helm put the plugin: a link in $HELM_FIXUP_BIN_DIR
# (default ~/.local/bin). A real file there (a Helm 3 install, the user's own) is left alone.
link_cli() {
  local target="$1" dir="${HELM_FIXUP_BIN_DIR:-}"
  [[ "${HELM_FIXUP_NO_LINK:-}" == 1 ]] && return 0
  if [[ -z "${dir}" ]]; then
    [[ -n "${HOME:-}" ]] || return 0
    dir="${HOME}/.local/bin"
  fi
  if [[ -e "${dir}/${bin_name}" && ! -L "${dir}/${bin_name}" ]]; then
    say "${dir}/${bin_name} exists and is not a link: left as it is (the plugin's binary is ${target})"
    return 0
  fi
  if mkdir -p "${dir}" 2>/dev/null && ln -sfn "${target}" "${dir}/${bin_name}" 2>/dev/null; then
    say "linked ${dir}/${bin_name} -> ${target}: run helm-fixup diagnose, last and explain from a shell"
    case ":${PATH}:" in
      *":${dir}:"*) ;;
      *) say "note: ${dir} is not on PATH: add it, or run ${dir}/${bin_name}" ;;
    esac
  else
    say "could not link ${dir}/${bin_name}; the plugin's binary is ${target}"
  fi
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

# plugin_field DIR KEY: a top-level scalar of DIR/plugin.yaml (version, sourceURL).
plugin_field() {
  { sed -n "s/^$2:[[:space:]]*//p" "$1/plugin.yaml" 2>/dev/null || true; } | head -n 1 | tr -d "\"'"
}

# The release archive name for this machine, as scripts/release.sh names it:
# helm-fixup-VERSION-OS-ARCH.tar.gz with OS linux|darwin and ARCH amd64|arm64|loong64.
archive_name() {
  local version="$1" os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    loongarch64 | loong64) arch=loong64 ;;
    *) arch="$(uname -m)" ;;
  esac
  echo "${bin_name}-${version}-${os}-${arch}.tar.gz"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    die "neither sha256sum nor shasum found: cannot check $1"
  fi
}

# unpack_archive ARCHIVE SHA256FILE DEST: check the archive against the first word of SHA256FILE
# (refusing it on a mismatch), then install its helm-fixup binary as DEST.
unpack_archive() {
  local archive="$1" sumfile="$2" dest="$3" want got
  want="$(awk 'NR == 1 {print $1}' "${sumfile}")"
  got="$(sha256_of "${archive}")"
  if [[ -z "${want}" || "${want}" != "${got}" ]]; then
    die "checksum mismatch for $(basename "${archive}"): expected ${want:-nothing}, got ${got}; refusing it"
  fi
  work_dir="$(mktemp -d "${TMPDIR:-/tmp}/helm-fixup-install.XXXXXX")"
  tar -xzf "${archive}" -C "${work_dir}"
  local found
  found="$(find "${work_dir}" -type f -name "${bin_name}" | head -n 1)"
  [[ -n "${found}" ]] || die "$(basename "${archive}") holds no ${bin_name} binary"
  chmod 0755 "${found}"
  install_binary "${found}" "${dest}"
}

# fetch URL FILE: curl or wget; fails quietly (the caller says what happens next).
fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    return 1
  fi
}

# binary_version BIN: the version BIN reports, empty when it does not run here (wrong OS/arch).
binary_version() {
  "$1" --version 2>/dev/null | awk '{print $2}' || true
}

# ---------------------------------------------------------------------------------------------
# Hook mode: `helm plugin install|update` runs us with HELM_PLUGIN_DIR set. The binary comes
# from, in this order:
#   1. bin/helm-fixup already in the plugin (a packaged plugin), when it runs here and reports
#      the plugin's version (after `helm plugin update` pulled a new version it does not);
#   2. HELM_FIXUP_BINARY=/path/to/helm-fixup, or a release archive: HELM_FIXUP_ARCHIVE=FILE, or
#      helm-fixup-VERSION-OS-ARCH.tar.gz in the plugin directory (with its .sha256 beside it);
#   3. the release archive for this version, OS and arch, downloaded with curl or wget from
#      HELM_FIXUP_RELEASE_URL (default: <sourceURL of plugin.yaml>/releases/download/vVERSION)
#      and checked against its .sha256 (a mismatch is refused); HELM_FIXUP_OFFLINE=1 skips it;
#   4. cargo build, when the plugin is a source checkout and cargo is on PATH;
#   5. otherwise an error naming all of these.
if [[ -n "${HELM_PLUGIN_DIR:-}" ]]; then
  dest="${HELM_PLUGIN_DIR}/bin/${bin_name}"
  version="$(plugin_field "${HELM_PLUGIN_DIR}" version)"
  archive="$(archive_name "${version}")"
  # `helm plugin update` runs the update hook (install.sh --update) after pulling a source
  # checkout: rebuild then, even when the version did not change.
  rebuild=0
  if [[ "${1:-}" == "--update" && -f "${HELM_PLUGIN_DIR}/Cargo.toml" ]] && command -v cargo >/dev/null 2>&1; then
    rebuild=1
  fi
  if [[ -x "${dest}" && -z "${HELM_FIXUP_BINARY:-}" && "${rebuild}" == 0 &&
    "$(binary_version "${dest}")" == "${version}" ]]; then
    say "using the binary the plugin ships: ${dest}"
  elif [[ -n "${HELM_FIXUP_BINARY:-}" ]]; then
    install_binary "${HELM_FIXUP_BINARY}" "${dest}"
  elif [[ -n "${HELM_FIXUP_ARCHIVE:-}" ]]; then
    [[ -f "${HELM_FIXUP_ARCHIVE}.sha256" ]] || die "${HELM_FIXUP_ARCHIVE}.sha256 missing: it is needed to check the archive"
    unpack_archive "${HELM_FIXUP_ARCHIVE}" "${HELM_FIXUP_ARCHIVE}.sha256" "${dest}"
  elif [[ -f "${HELM_PLUGIN_DIR}/${archive}" && -f "${HELM_PLUGIN_DIR}/${archive}.sha256" ]]; then
    unpack_archive "${HELM_PLUGIN_DIR}/${archive}" "${HELM_PLUGIN_DIR}/${archive}.sha256" "${dest}"
  else
    base_url="${HELM_FIXUP_RELEASE_URL:-}"
    source_url="$(plugin_field "${HELM_PLUGIN_DIR}" sourceURL)"
    if [[ -z "${base_url}" && -n "${source_url}" ]]; then
      base_url="${source_url%/}/releases/download/v${version}"
    fi
    downloaded=0
    if [[ -n "${base_url}" && "${HELM_FIXUP_OFFLINE:-}" != 1 ]]; then
      dl_dir="$(mktemp -d "${TMPDIR:-/tmp}/helm-fixup-download.XXXXXX")"
      say "downloading ${base_url}/${archive}"
      if fetch "${base_url}/${archive}.sha256" "${dl_dir}/${archive}.sha256" &&
        fetch "${base_url}/${archive}" "${dl_dir}/${archive}"; then
        unpack_archive "${dl_dir}/${archive}" "${dl_dir}/${archive}.sha256" "${dest}"
        downloaded=1
      else
        say "download failed: ${base_url}/${archive}"
      fi
      rm -rf "${dl_dir}"
    fi
    if [[ "${downloaded}" == 1 ]]; then
      :
    elif [[ -f "${HELM_PLUGIN_DIR}/Cargo.toml" ]] && command -v cargo >/dev/null 2>&1; then
      install_binary "$(build_binary "${HELM_PLUGIN_DIR}")" "${dest}"
    else
      die "no ${bin_name} binary for ${archive%.tar.gz}, so the plugin cannot run.
Helm keeps a plugin whose install hook failed: first run  helm plugin uninstall ${plugin_name}
then install again in one of these ways:
  - the packaged plugin, which has the binary inside: helm plugin install ${plugin_name}-${version}.tgz
    (from the release bundle for your OS and arch, or made with scripts/release.sh);
  - HELM_FIXUP_BINARY=/path/to/${bin_name} helm plugin install ...;
  - HELM_FIXUP_ARCHIVE=/path/to/${archive} (with ${archive}.sha256 beside it) helm plugin install ...;
  - a release to download from: HELM_FIXUP_RELEASE_URL=https://.../releases/download/v${version}${base_url:+ (tried ${base_url})};
  - Rust (cargo) on PATH and a source checkout of ${bin_name}."
    fi
  fi
  say "plugin binary: ${dest}"
  link_cli "${dest}"
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
  # Helm 4 links plugins/<name of the directory given> to this checkout, but `helm plugin
  # update` looks for plugins/<last part of the git remote URL> (Helm 4.1.4 base.Path with the
  # source from existingVCSRepo): give it a directory of that name, a link to this checkout.
  # The link lives outside the checkout: Helm's update removes files git does not track.
  source_dir="${here}"
  remote="$(git -C "${here}" config --get remote.origin.url 2>/dev/null || true)"
  link_name="$(basename "${remote:-${here}}")"
  if [[ -n "${remote}" && "${link_name}" != "$(basename "${here}")" &&
    "${link_name}" != "." && "${link_name}" != ".." ]]; then
    link_dir="${XDG_STATE_HOME:-${HOME}/.local/state}/helm-fixup/plugin-source"
    mkdir -p "${link_dir}"
    ln -sfn "${here}" "${link_dir}/${link_name}"
    source_dir="${link_dir}/${link_name}"
  fi
  # The install hook (this script) finds the same binary and does nothing more.
  HELM_FIXUP_BINARY="${here}/bin/${bin_name}" "${helm_bin}" plugin install "${source_dir}" >&2
  link_cli "${here}/bin/${bin_name}"
  say "installed Helm 4 plugin '${plugin_name}' (linked to this directory: keep it where it is). Use it with:"
  say "  helm install RELEASE CHART --post-renderer ${plugin_name} --post-renderer-args=-p --post-renderer-args=root-run"
  say "  (or: HELM_FIXUP_PROFILES=root-run helm install RELEASE CHART --post-renderer ${plugin_name})"
  fixup_path="${here}/bin/${bin_name}"
else
  bin_dir="${HELM_FIXUP_BIN_DIR:-${HOME}/.local/bin}"
  fixup_path="${bin_dir}/${bin_name}"
  install_binary "${built}" "${fixup_path}"
  say "installed ${fixup_path}"
  # Helm 3 finds a post-renderer by name only on PATH: name the full path when it is not there.
  renderer="${bin_name}"
  case ":${PATH}:" in
    *":${bin_dir}:"*) ;;
    *)
      renderer="${fixup_path}"
      say "note: ${bin_dir} is not on PATH: use the full path below, or add ${bin_dir} to PATH"
      ;;
  esac
  if [[ "${helm_major}" == "3" ]]; then
    say "use it with Helm 3:"
    say "  helm install RELEASE CHART --post-renderer ${renderer} --post-renderer-args -p --post-renderer-args root-run"
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
# The summary is printed once, below: keep helm-fixup's own copy off the terminal.
export HELM_FIXUP_TTY=0
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
      <"${here}/examples/streams/demo.yaml" >"${out}" 2>/dev/null || {
      cat "${summary}" >&2
      die "demo failed: ${fixup_path} on examples/streams/demo.yaml"
    }
    ;;
esac
say "demo output: $(grep -c '^kind:' "${out}") objects; summary:"
cat "${summary}" >&2
