#!/usr/bin/env bash
# Throughput and peak memory of helm-fixup, next to `cat` (the floor) and `kubectl kustomize`
# applying one strategic-merge patch to every Deployment of the same stream.
#
# Streams, generated from the repository's own examples (examples/streams/*.yaml), each object
# renamed per copy so names stay unique:
#   workloads  the examples repeated to BENCH_MB (default 12) MB: almost every byte is a pod spec,
#              PVC or monitoring CR that some profile must read (the worst case);
#   mixed      the same examples plus kinds no profile reads (dashboard ConfigMaps,
#              PrometheusRules, CRD-like schemas) making up about 80% of the bytes;
#   stack      the same kinds in the proportion of a real kube-prometheus-stack render (about
#              96% of the bytes in kinds no profile reads);
#   largest    the largest example stream concatenated 20 times (root-run next to cat).
# Also: how fast bad input is rejected (exit 2), and peak RSS on BENCH_BIG_MB (default 100) MB
# mixed and stack streams (set BENCH_BIG_MB=0 to skip).
#
# Usage: scripts/bench.sh [path/to/helm-fixup]   (default: target/release/helm-fixup, built if missing)
# Env:   BENCH_MB=12 BENCH_RUNS=3 BENCH_BIG_MB=100 BENCH_KUSTOMIZE=1 BENCH_KUSTOMIZE_MB=1
#
# kustomize slows down more than linearly with the stream (over 14 minutes on the 12 MB stream
# here), so it runs on the first BENCH_KUSTOMIZE_MB MB of the same generated stream, and the ratio
# compares it with helm-fixup (all four profiles) on that same input.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/target/release/helm-fixup}
mb=${BENCH_MB:-12}
runs=${BENCH_RUNS:-3}
big_mb=${BENCH_BIG_MB:-100}
want_kustomize=${BENCH_KUSTOMIZE:-1}
kustomize_mb=${BENCH_KUSTOMIZE_MB:-1}

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; }
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need /usr/bin/time time
need python3 python3
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build --release --locked)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_FIXUP_TTY=0

# --- stream generation ---------------------------------------------------------------------
python3 - "$root" "$work" "$mb" "$big_mb" "$kustomize_mb" <<'PY'
import glob, os, re, sys

root, work, mb, big_mb, kmb = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
files = sorted(f for f in glob.glob(os.path.join(root, "examples/streams/*.yaml"))
               if not f.endswith("-helm4.yaml"))  # same objects as demo.yaml, Helm 4 form
sources = [open(f).read() for f in files]
name = re.compile(r"^(\s*(?:- )?name: )(\S+)$", re.M)

def copy(text, tag):
    """One example with every name made unique; a leading '---' keeps documents apart."""
    text = name.sub(lambda m: f"{m.group(1)}{m.group(2)}-{tag}", text)
    return text if text.startswith("---") else "---\n" + text

def dashboard(i):
    panels = ",\n".join(
        f'        {{"id": {p}, "type": "timeseries", "title": "Panel {p}", '
        f'"targets": [{{"expr": "sum(rate(http_requests_total{{job=\\"api-{i}\\"}}[5m])) by (code)"}}]}}'
        for p in range(40))
    return (f"---\n# Source: kps/templates/grafana/dashboards/d{i}.yaml\napiVersion: v1\nkind: ConfigMap\n"
            f"metadata:\n  name: dashboard-{i}\n  namespace: monitoring\n  labels:\n    grafana_dashboard: \"1\"\n"
            f"data:\n  d{i}.json: |-\n    {{\n      \"title\": \"Dashboard {i}\",\n      \"panels\": [\n{panels}\n      ]\n    }}\n")

def rules(i):
    body = "".join(
        f"    - alert: HighErrorRate{r}\n      expr: |\n        sum(rate(http_requests_total{{code=~\"5..\",job=\"api-{i}\"}}[5m]))\n"
        f"          / sum(rate(http_requests_total{{job=\"api-{i}\"}}[5m])) > 0.0{r % 9 + 1}\n"
        f"      for: 10m\n      labels:\n        severity: warning\n      annotations:\n"
        f"        summary: \"Error rate of api-{i} above threshold {r}\"\n"
        for r in range(30))
    return (f"---\n# Source: kps/templates/prometheus/rules/r{i}.yaml\napiVersion: monitoring.coreos.com/v1\n"
            f"kind: PrometheusRule\nmetadata:\n  name: rules-{i}\n  namespace: monitoring\nspec:\n  groups:\n"
            f"  - name: api-{i}\n    rules:\n{body}")

def crd(i):
    props = "".join(
        f"                field{p}:\n                  description: \"Field {p} of the spec; see the operator docs.\"\n"
        f"                  type: {'string' if p % 3 else 'integer'}\n"
        for p in range(60))
    return (f"---\n# Source: kps/charts/crds/templates/crd-{i}.yaml\napiVersion: apiextensions.k8s.io/v1\n"
            f"kind: CustomResourceDefinition\nmetadata:\n  name: things{i}.example.com\nspec:\n  group: example.com\n"
            f"  names:\n    kind: Thing{i}\n    plural: things{i}\n  scope: Namespaced\n  versions:\n  - name: v1\n"
            f"    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n"
            f"        properties:\n          spec:\n            type: object\n            properties:\n"
            f"              config:\n                type: object\n                properties:\n{props}")

# (dashboards, rule files, CRDs) added to each copy of the examples
MIX = {"workloads": (0, 0, 0), "mixed": (10, 8, 6), "stack": (40, 40, 25)}

def write(path, target_mb, mix):
    target = int(target_mb * 1024 * 1024)
    size, i = 0, 0
    dashboards, rule_files, crds = MIX[mix]
    with open(path, "w") as out:
        while size < target:
            parts = [copy(t, f"r{i}f{j}") for j, t in enumerate(sources)]
            parts += [dashboard(f"{i}-{k}") for k in range(dashboards)]
            parts += [rules(f"{i}-{k}") for k in range(rule_files)]
            parts += [crd(f"{i}x{k}") for k in range(crds)]
            chunk = "".join(parts)
            out.write(chunk)
            size += len(chunk.encode())
            i += 1

for mix in MIX:
    write(os.path.join(work, f"{mix}.yaml"), mb, mix)
    write(os.path.join(work, f"{mix}-k.yaml"), kmb, mix)
    if big_mb > 0 and mix != "workloads":
        write(os.path.join(work, f"big-{mix}.yaml"), big_mb, mix)
largest = max(glob.glob(os.path.join(root, "examples/streams/*.yaml")), key=os.path.getsize)
text = open(largest).read()
text = text if text.startswith("---") else "---\n" + text
open(os.path.join(work, "largest20.yaml"), "w").write(text * 20)
open(os.path.join(work, "largest.name"), "w").write(os.path.relpath(largest, root))
PY

# --- measuring -----------------------------------------------------------------------------
# best wall time of $runs runs and the largest peak RSS, as "seconds kbytes exitcode"
measure() {
  local input=$1; shift
  local best="" rss=0 code=0 t m
  for _ in $(seq "$runs"); do
    code=0
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" <"$input" >/dev/null 2>"$work/stderr" || code=$?
    read -r t m < <(tail -n 1 "$work/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$best $rss $code"
}

row() { # label input seconds kbytes code
  local bytes
  bytes=$(stat -c %s "$2")
  awk -v l="$1" -v b="$bytes" -v t="$3" -v m="$4" -v c="$5" 'BEGIN{
    s = (t > 0 ? t : 0.005); mbs = b / 1048576 / s;
    printf "%-34s %8.1f MB/s %8.2f s %8.1f MB %+9.1f MB %5s\n", l, mbs, t, m/1024, m/1024 - b/1048576, c }'
}

all="root-run,init-chown,exec-probes,local-pv"
local_pv=(--set local-pv.node=node-1 --set local-pv.namespace=monitoring)
header() {
  printf '\n== %s: %s (%.1f MB)\n' "$1" "$2" "$(awk -v b="$(stat -c %s "$3")" 'BEGIN{print b/1048576}')"
  printf "%-34s %13s %10s %11s %12s %5s\n" "command" "throughput" "wall" "peak RSS" "RSS-input" "exit"
}

echo "helm-fixup benchmark: $("$bin" --version 2>/dev/null || echo "$bin"), $(nproc) cores, best of $runs runs"
for stream in workloads mixed stack; do
  in=$work/$stream.yaml
  header "$stream" "$stream stream" "$in"
  read -r t m c < <(measure "$in" cat); row "cat" "$in" "$t" "$m" "$c"
  read -r t m c < <(measure "$in" "$bin"); row "helm-fixup (no profile)" "$in" "$t" "$m" "$c"
  for p in root-run shared-uid init-chown exec-probes; do
    read -r t m c < <(measure "$in" "$bin" -p "$p"); row "helm-fixup -p $p" "$in" "$t" "$m" "$c"
  done
  read -r t m c < <(measure "$in" "$bin" -p local-pv "${local_pv[@]}"); row "helm-fixup -p local-pv" "$in" "$t" "$m" "$c"
  read -r t m c < <(measure "$in" "$bin" -p "$all" "${local_pv[@]}"); row "helm-fixup -p (all four)" "$in" "$t" "$m" "$c"
  # Diagnose plans every profile it can choose and writes no stream: it must not be slower
  # than applying them (it exits 4 when it finds something).
  read -r t m c < <(measure "$in" "$bin" diagnose); row "helm-fixup diagnose" "$in" "$t" "$m" "$c"
  read -r t m c < <(measure "$in" "$bin" -p auto --assume storage=hostpath "${local_pv[@]}"); row "helm-fixup -p auto" "$in" "$t" "$m" "$c"
  if [ "$want_kustomize" = 1 ] && command -v kubectl >/dev/null 2>&1; then
    k=$work/kustomize-$stream
    kin=$work/$stream-k.yaml
    mkdir -p "$k"
    cp "$kin" "$k/stream.yaml"
    cat >"$k/patch.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  template:
    spec:
      securityContext:
        runAsUser: 0
EOF
    cat >"$k/kustomization.yaml" <<'EOF'
resources:
- stream.yaml
patches:
- path: patch.yaml
  target:
    kind: Deployment
EOF
    printf -- '-- the first %s MB of the same stream, for kustomize:\n' "$kustomize_mb"
    read -r t m c < <(measure "$kin" "$bin" -p "$all" "${local_pv[@]}"); row "helm-fixup -p (all four)" "$kin" "$t" "$m" "$c"
    all_t=$t
    read -r kt km kc < <(runs=1 measure /dev/null kubectl kustomize "$k"); row "kubectl kustomize (1 patch)" "$kin" "$kt" "$km" "$kc"
    awk -v k="$kt" -v h="$all_t" 'BEGIN{ printf "kustomize / helm-fixup (all four): %.1fx\n", k / (h > 0 ? h : 0.005) }'
  fi
done

largest=$(cat "$work/largest.name")
header "largest" "$largest x 20" "$work/largest20.yaml"
read -r t m c < <(measure "$work/largest20.yaml" cat); row "cat" "$work/largest20.yaml" "$t" "$m" "$c"
read -r t m c < <(measure "$work/largest20.yaml" "$bin" -p root-run); row "helm-fixup -p root-run" "$work/largest20.yaml" "$t" "$m" "$c"

for mix in mixed stack; do
  big=$work/big-$mix.yaml
  [ -f "$big" ] || continue
  header "big" "$mix stream" "$big"
  read -r t m c < <(runs=1 measure "$big" cat); row "cat" "$big" "$t" "$m" "$c"
  read -r t m c < <(runs=1 measure "$big" "$bin" -p root-run); row "helm-fixup -p root-run" "$big" "$t" "$m" "$c"
  read -r t m c < <(runs=1 measure "$big" "$bin" -p "$all" "${local_pv[@]}"); row "helm-fixup -p (all four)" "$big" "$t" "$m" "$c"
done

# --- one pod, many containers: time must grow linearly ------------------------------------
printf '\n== one pod with N containers sharing a volume, each with an httpGet probe (linear: 2N ~ 2x)\n'
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
for n in (2500, 5000):
    lines = ["apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: wide", "  namespace: ns",
             "spec:", "  template:", "    spec:", "      volumes:", "        - name: data", "          emptyDir: {}",
             "      containers:"]
    for i in range(n):
        lines += [f"        - name: c{i}", f"          image: img{i % 7}", "          securityContext:",
                  f"            runAsUser: {1000 + i % 5}", "          volumeMounts:", "            - name: data",
                  "              mountPath: /data", "          livenessProbe:", "            httpGet: {port: 8080, path: /}"]
    open(f"{w}/wide-{n}.yaml", "w").write("\n".join(lines) + "\n")
PY
for n in 2500 5000; do
  f=$work/wide-$n.yaml
  read -r t m c < <(measure "$f" "$bin" -p shared-uid); row "shared-uid, $n containers" "$f" "$t" "$m" "$c"
done

# --- limits: aliases over many documents, one big value in an edited document --------------
# 200 Deployments with a 1,000-item anchor aliased 98 times (each under the per-document alias
# limit) must be refused by the stream's limit in well under 2 s and 400 MB; 10 of them (just
# under it) must pass in as little. A 40 MB annotation costs about its size in a ConfigMap
# (copied through) and must cost under 3x its size plus 40 MB in a Pod root-run edits.
printf '\n== limits (aliases: under 2 s and 400 MB; big value: RSS-input under 2x its size plus 40 MB)\n'
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
def deployment(d):
    items = "\n".join(f"    - item{i}" for i in range(1000))
    uses = "\n".join(f"  u{j}: *big" for j in range(98))
    return (f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d{d}\nspec:\n  template:\n"
            f"    spec:\n      volumes: [{{name: data, emptyDir: {{}}}}]\n      containers:\n      - name: c\n"
            f"        image: x\n        volumeMounts: [{{name: data, mountPath: /data}}]\nx-lists:\n"
            f"  big: &big\n{items}\n{uses}\n")
open(f"{w}/aliases-200.yaml", "w").write("".join(deployment(d) for d in range(200)))
open(f"{w}/aliases-10.yaml", "w").write("".join(deployment(d) for d in range(10)))
big = "a" * 40_000_000
pod = ("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    big: \"%s\"\nspec:\n"
       "  volumes: [{name: data, emptyDir: {}}]\n  containers:\n  - name: c\n    image: x\n"
       "    securityContext: {runAsUser: 1000}\n    volumeMounts: [{name: data, mountPath: /data}]\n") % big
open(f"{w}/big-value-pod.yaml", "w").write(pod)
open(f"{w}/big-value-configmap.yaml", "w").write(
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n  annotations:\n    big: \"%s\"\ndata: {a: b}\n" % big)
PY
for f in aliases-200 aliases-10 big-value-configmap big-value-pod; do
  read -r t m c < <(runs=1 measure "$work/$f.yaml" "$bin" -p root-run); row "root-run, $f" "$work/$f.yaml" "$t" "$m" "$c"
done

# --- bad input: exit 2, fast ---------------------------------------------------------------
printf '\n== bad input (must exit 2 in under a second)\n'
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
for i in range(1, 10):
    bomb += "  a%d: &a%d [%s]\n" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10))
open(f"{w}/bad-alias-bomb.yaml", "w").write(bomb)
open(f"{w}/bad-nesting.yaml", "w").write("kind: ConfigMap\ndata: " + "[" * 100000 + "\n")
open(f"{w}/bad-utf8.yaml", "wb").write(b"kind: ConfigMap\ndata:\n  a: \xff\xfe\n")
open(f"{w}/bad-scalar.yaml", "w").write("---\njust a string\n")
open(f"{w}/bad-yaml.yaml", "w").write("kind: ConfigMap\ndata: {a: [1, 2}\n")
PY
for f in "$work"/bad-*.yaml; do
  read -r t m c < <(runs=1 measure "$f" "$bin" -p "$all" "${local_pv[@]}")
  printf "%-34s %8.2f s exit %s  %s\n" "$(basename "$f" .yaml)" "$t" "$c" "$(head -1 "$work/stderr")"
done
