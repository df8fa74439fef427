#!/usr/bin/env bash
# What helm-fixup adds to a `helm template` of the example chart (examples/fixup-demo):
#   Helm 4: the `fixup` plugin (all four profiles) against a postrenderer/v1 plugin that runs `cat`;
#   Helm 3: `--post-renderer <path to helm-fixup>` against `--post-renderer cat`.
# Each variant runs HELM_OVERHEAD_RUNS times (default 20); the script prints the mean wall time
# per `helm template` and the ratio fixup / cat.
#
# Helm comes from HELM3_BIN / HELM4_BIN, else .helm-bin/helm3|helm4 (fetched by scripts/get-helm.sh
# when missing). Every Helm call runs with private HELM_DATA_HOME, HELM_CONFIG_HOME, HELM_CACHE_HOME
# and HELM_PLUGINS, so the caller's plugins and settings never leak in.
#
# Usage: scripts/helm-overhead.sh [path/to/helm-fixup]   (default: target/release/helm-fixup)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/helm-fixup}
runs=${HELM_OVERHEAD_RUNS:-20}
helm3=${HELM3_BIN:-$root/.helm-bin/helm3}
helm4=${HELM4_BIN:-$root/.helm-bin/helm4}

if [ ! -x "$helm3" ] || [ ! -x "$helm4" ]; then
  bash "$root/scripts/get-helm.sh" >/dev/null
  helm3=$root/.helm-bin/helm3
  helm4=$root/.helm-bin/helm4
fi
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build --release --locked)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A clean Helm environment: no HELM_* of the caller, private homes.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(HELM_[A-Za-z0-9_]*\)=.*/\1/p')
export HELM_DATA_HOME=$work/data HELM_CONFIG_HOME=$work/config HELM_CACHE_HOME=$work/cache
export HELM_PLUGINS=$work/data/plugins
export HELM_FIXUP_TTY=0
cat >"$work/fixup.yaml" <<'EOF'
profiles: root-run,init-chown,exec-probes,local-pv
set:
  local-pv.node: node-1
EOF
export HELM_FIXUP_CONFIG=$work/fixup.yaml

# Helm 4 plugins, laid out the way `helm plugin install` leaves them.
mkdir -p "$HELM_PLUGINS/fixup/bin" "$HELM_PLUGINS/catpr"
cp "$root/plugin.yaml" "$HELM_PLUGINS/fixup/plugin.yaml"
cp "$bin" "$HELM_PLUGINS/fixup/bin/helm-fixup"
cat >"$HELM_PLUGINS/catpr/plugin.yaml" <<'EOF'
apiVersion: v1
name: catpr
type: postrenderer/v1
runtime: subprocess
version: 0.1.0
runtimeConfig:
  platformCommand:
    - command: cat
EOF

chart=$root/examples/fixup-demo
# mean seconds per run of "$@", output checked once
mean() {
  "$@" >"$work/out" 2>"$work/err" || { echo "helm-overhead: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" -v n="$runs" 'BEGIN{ printf "%.4f", (e - s) / 1e9 / n }'
}

t=(template demo "$chart" --namespace monitoring)
h4_cat=$(mean "$helm4" "${t[@]}" --post-renderer catpr)
h4_fix=$(mean "$helm4" "${t[@]}" --post-renderer fixup)
grep -q 'runAsUser: 0' "$work/out" || { echo "helm-overhead: the fixup plugin changed nothing" >&2; exit 1; }
h3_cat=$(mean "$helm3" "${t[@]}" --post-renderer cat)
h3_fix=$(mean "$helm3" "${t[@]}" --post-renderer "$bin")
grep -q 'runAsUser: 0' "$work/out" || { echo "helm-overhead: helm-fixup changed nothing under Helm 3" >&2; exit 1; }
none=$(mean "$helm4" "${t[@]}")

echo "helm template examples/fixup-demo, mean of $runs runs (profiles: root-run,init-chown,exec-probes,local-pv)"
printf "%-44s %9s\n" "variant" "seconds"
printf "%-44s %9s\n" "Helm 4, no post-renderer" "$none"
printf "%-44s %9s\n" "Helm 4, plugin running cat" "$h4_cat"
printf "%-44s %9s\n" "Helm 4, fixup plugin" "$h4_fix"
printf "%-44s %9s\n" "Helm 3, --post-renderer cat" "$h3_cat"
printf "%-44s %9s\n" "Helm 3, --post-renderer helm-fixup" "$h3_fix"
awk -v a="$h4_fix" -v b="$h4_cat" -v c="$h3_fix" -v d="$h3_cat" 'BEGIN{
  printf "Helm 4 overhead: fixup / cat = %.3f (%+.1f ms)\n", a / b, (a - b) * 1000
  printf "Helm 3 overhead: helm-fixup / cat = %.3f (%+.1f ms)\n", c / d, (c - d) * 1000 }'
