#!/usr/bin/env bash
# Build the release files of helm-fixup for one target (default: this machine).
#
#   bash scripts/release.sh [--target TRIPLE [--binary FILE]] [--out DIR] [--source-url URL]
#                           [--key NAME [--keyring FILE] [--passphrase-file FILE]] [--plugin-only]
#
# Writes into DIR (default dist/):
#   helm-fixup-VERSION-OS-ARCH.tar.gz         the binary, its man page, shell completions, LICENSE
#   helm-fixup-VERSION-OS-ARCH.tar.gz.sha256  "<sha256>  <file name>", what the install hook checks
#   OS-ARCH/fixup-VERSION.tgz                 the Helm 4 plugin with that binary inside (made by
#                                             `helm plugin package`), installable with no Rust and
#                                             no network; with --key also fixup-VERSION.tgz.prov
#   fixup-VERSION-OS-ARCH.plugin.tar          both of those in one file, for a release page (every
#                                             platform's plugin tarball is named fixup-VERSION.tgz,
#                                             and the .prov names the file it signs)
# --binary FILE packages FILE as the TRIPLE binary instead of building it (the release workflow
# builds on each platform and packages in one place); the man page and completions then come
# from HELM_FIXUP_HOST_BIN, a helm-fixup that runs here (default: cargo build for the host).
# With --plugin-only: only DIR/fixup-VERSION.tgz, the plugin without a binary, whose install hook
# downloads the release archive for the user's OS and arch from --source-url's releases.
#
# The plugin tarball is made from a staged directory holding only plugin.yaml, install.sh,
# bin/helm-fixup, LICENSE and README.md: Helm 4.1.4's `helm plugin package` packs every file of
# the directory it is given (internal/plugin/sign.go CreatePluginTarball reads no .helmignore),
# which on a built clone is target/ and .git (hundreds of MB).
#
# Environment: HELM_BIN (default helm on PATH; must be Helm 4), CARGO (default cargo).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

target="" binary="" out="dist" source_url="" key="" keyring="" passphrase_file="" plugin_only=0
while (($# > 0)); do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --source-url) source_url="$2"; shift 2 ;;
    --key) key="$2"; shift 2 ;;
    --keyring) keyring="$2"; shift 2 ;;
    --passphrase-file) passphrase_file="$2"; shift 2 ;;
    --plugin-only) plugin_only=1; shift ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "release.sh: unknown argument: $1 (see --help)" >&2; exit 3 ;;
  esac
done

say() { echo "release.sh: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

helm_bin="${HELM_BIN:-helm}"
cargo_bin="${CARGO:-cargo}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
plugin_version="$(sed -n 's/^version:[[:space:]]*//p' plugin.yaml | head -n 1)"
[[ "${version}" == "${plugin_version}" ]] ||
  die "Cargo.toml says ${version}, plugin.yaml says ${plugin_version}: make them equal"
# Helm 4 packs the plugin; the binary archive needs no Helm.
helm_version="$("${helm_bin}" version --template '{{.Version}}' 2>/dev/null || true)"
have_helm4=0
[[ "${helm_version}" == v4.* ]] && have_helm4=1
if [[ "${have_helm4}" == 0 && "${plugin_only}" == 1 ]]; then
  die "${helm_bin} is ${helm_version:-not runnable}; the plugin needs a Helm 4 to pack it: set HELM_BIN"
fi

# OS and ARCH as Helm, Go and the install hook name them.
goos_goarch() {
  local triple="$1" os arch
  case "${triple}" in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *) die "unsupported target ${triple}" ;;
  esac
  case "${triple}" in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    loongarch64-*) arch=loong64 ;;
    *) die "unsupported target ${triple}" ;;
  esac
  echo "${os}-${arch}"
}

sha256_line() {
  local file="$1" sum
  if command -v sha256sum >/dev/null 2>&1; then
    sum="$(sha256sum "${file}" | awk '{print $1}')"
  else
    sum="$(shasum -a 256 "${file}" | awk '{print $1}')"
  fi
  echo "${sum}  $(basename "${file}")"
}

stage="$(mktemp -d "${TMPDIR:-/tmp}/helm-fixup-release.XXXXXX")"
trap 'rm -rf "${stage}"' EXIT
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"

# stage_plugin DIR [BINARY]: the plugin's files, and the binary when given.
stage_plugin() {
  local dir="$1" bin="${2:-}"
  mkdir -p "${dir}"
  cp install.sh LICENSE README.md "${dir}/"
  if [[ -n "${source_url}" ]]; then
    awk -v url="${source_url}" '{print} /^version:/ {print "sourceURL: " url}' plugin.yaml >"${dir}/plugin.yaml"
  else
    cp plugin.yaml "${dir}/plugin.yaml"
  fi
  if [[ -n "${bin}" ]]; then
    mkdir -p "${dir}/bin"
    cp "${bin}" "${dir}/bin/helm-fixup"
    chmod 0755 "${dir}/bin/helm-fixup"
  fi
}

# package DIR DEST: helm plugin package, signed when --key was given.
package() {
  local dir="$1" dest="$2"
  mkdir -p "${dest}"
  local args=(plugin package "${dir}" --destination "${dest}")
  if [[ -n "${key}" ]]; then
    args+=(--sign --key "${key}")
    [[ -z "${keyring}" ]] || args+=(--keyring "${keyring}")
    [[ -z "${passphrase_file}" ]] || args+=(--passphrase-file "${passphrase_file}")
  else
    args+=(--sign=false)
  fi
  "${helm_bin}" "${args[@]}" >&2
  say "plugin: ${dest}/fixup-${version}.tgz${key:+ (+ .prov)}"
}

if [[ "${plugin_only}" == 1 ]]; then
  [[ -n "${source_url}" ]] || die "--plugin-only needs --source-url: the hook downloads from its releases"
  stage_plugin "${stage}/fixup"
  package "${stage}/fixup" "${out}"
  exit 0
fi

build_args=(build --release --locked)
if [[ -n "${binary}" ]]; then
  [[ -n "${target}" ]] || die "--binary needs --target"
  bin="${binary}"
elif [[ -n "${target}" ]]; then
  build_args+=(--target "${target}")
  bin="${CARGO_TARGET_DIR:-target}/${target}/release/helm-fixup"
else
  target="$(rustc -vV | sed -n 's/^host: //p')"
  bin="${CARGO_TARGET_DIR:-target}/release/helm-fixup"
fi
platform="$(goos_goarch "${target}")"
if [[ -z "${binary}" ]]; then
  say "building ${target} (${platform})"
  "${cargo_bin}" "${build_args[@]}" >&2
fi
[[ -x "${bin}" ]] || die "${bin} is not an executable file"

# The man page and completions come from a binary that runs here (the same clap definition).
host_bin="${HELM_FIXUP_HOST_BIN:-${bin}}"
if ! "${host_bin}" --version >/dev/null 2>&1; then
  "${cargo_bin}" build --release --locked >&2
  host_bin="${CARGO_TARGET_DIR:-target}/release/helm-fixup"
fi

name="helm-fixup-${version}-${platform}"
mkdir -p "${stage}/${name}/completions"
cp "${bin}" "${stage}/${name}/helm-fixup"
cp LICENSE README.md "${stage}/${name}/"
"${host_bin}" man >"${stage}/${name}/helm-fixup.1" ||
  die "${host_bin} man failed: is it older than this checkout?"
"${host_bin}" completions bash >"${stage}/${name}/completions/helm-fixup.bash"
"${host_bin}" completions zsh >"${stage}/${name}/completions/_helm-fixup"
"${host_bin}" completions fish >"${stage}/${name}/completions/helm-fixup.fish"
tar -C "${stage}" -czf "${out}/${name}.tar.gz" "${name}"
sha256_line "${out}/${name}.tar.gz" >"${out}/${name}.tar.gz.sha256"
say "archive: ${out}/${name}.tar.gz (+ .sha256)"

if [[ "${have_helm4}" == 0 ]]; then
  say "no Helm 4 (${helm_bin}: ${helm_version:-not runnable}): the plugin was not packed; set HELM_BIN to a Helm 4 for it"
  exit 0
fi
stage_plugin "${stage}/plugin/fixup" "${bin}"
package "${stage}/plugin/fixup" "${out}/${platform}"
bundle=(-C "${out}/${platform}" "fixup-${version}.tgz")
[[ -z "${key}" ]] || bundle+=("fixup-${version}.tgz.prov")
tar -cf "${out}/fixup-${version}-${platform}.plugin.tar" "${bundle[@]}"
say "plugin bundle: ${out}/fixup-${version}-${platform}.plugin.tar"
