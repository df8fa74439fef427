#!/usr/bin/env bash
# Diagnose every stream of a corpus directory and hold the reports to committed goldens, and
# check the rule diagnose is built on: for each profile diagnose can choose, the objects
# `-p PROFILE` changes are exactly the objects diagnose names a failure on for it.
#
#   scripts/corpus-diagnose.sh BIN CORPUS_DIR GOLDEN_DIR [--update]
#
# The corpus is not part of the repository (the project's tests use their own fixtures); the
# reports are, in GOLDEN_DIR, so a change in what diagnose says shows in review.
set -euo pipefail
bin="$1"
corpus="$2"
golden="$3"
update="${4:-}"
mkdir -p "${golden}"
status=0
for stream in "${corpus}"/*.yaml; do
  name="$(basename "$(dirname "${stream}")")-$(basename "${stream}" .yaml)"
  out="$(mktemp)"
  rc=0
  HELM_FIXUP_LAST_RUN=0 HELM_FIXUP_TTY=0 "${bin}" diagnose <"${stream}" >"${out}" 2>/dev/null || rc=$?
  if [[ ${rc} -ne 0 && ${rc} -ne 4 ]]; then
    echo "FAIL ${name}: diagnose exited ${rc}"
    status=1
  fi
  if [[ "${update}" == "--update" ]]; then
    cp "${out}" "${golden}/${name}.txt"
  elif ! diff -u "${golden}/${name}.txt" "${out}" >/dev/null 2>&1; then
    echo "FAIL ${name}: report differs from ${golden}/${name}.txt"
    diff -u "${golden}/${name}.txt" "${out}" | head -20 || true
    status=1
  fi
  rm -f "${out}"
  if ! python3 - "${bin}" "${stream}" "${name}" <<'PY'; then status=1; fi
import json, subprocess, sys
bin, stream, name = sys.argv[1:4]
data = open(stream, "rb").read()
env = {"HELM_FIXUP_LAST_RUN": "0", "HELM_FIXUP_TTY": "0", "PATH": "/usr/bin:/bin"}
d = subprocess.run([bin, "diagnose", "--format", "json"], input=data, capture_output=True, env=env)
findings = json.loads(d.stdout)["findings"]
ok = True
for profile, extra in [("shared-uid", []), ("init-chown", []), ("exec-probes", []),
                       ("local-pv", ["--set", "local-pv.node=node", "--set", "local-pv.namespace=release-namespace"])]:
    r = subprocess.run([bin, "-p", profile, *extra, "--summary-format", "json"], input=data,
                       capture_output=True, env=env)
    if r.returncode != 0:
        print(f"FAIL {name}: -p {profile} exited {r.returncode}")
        ok = False
        continue
    summary = json.loads(r.stderr)
    changed = {c["object"] for c in summary["changed"]}
    named = {f["object"] for f in findings if f["profiles"][0] == profile}
    if profile == "local-pv":
        # local-pv fixes a claim by adding its volume (named NAMESPACE.CLAIM), and may change
        # the claim's owner: compare the claims named with the volumes added.
        changed = {a["object"].removeprefix("PersistentVolume ") for a in summary["added"]
                   if a["object"].startswith("PersistentVolume ")}
        named = set()
        for f in findings:
            if f["profiles"][0] != profile:
                continue
            for e in f["evidence"]:
                claims = e.split(" (", 1)[0].split(" ", 1)[1]
                for c in claims.split(", "):
                    named.add(c.replace("/", ".") if "/" in c else "release-namespace." + c)
    if changed != named:
        print(f"FAIL {name}: {profile} changes {sorted(changed - named)} without a finding, "
              f"and has findings on {sorted(named - changed)} it does not change")
        ok = False
# On OpenShift, openshift names the fixed ids it removes, on exactly the objects it changes.
d = subprocess.run([bin, "diagnose", "--format", "json", "--assume", "platform=openshift"],
                   input=data, capture_output=True, env=env)
os_findings = json.loads(d.stdout)["findings"]
r = subprocess.run([bin, "-p", "openshift", "--summary-format", "json"], input=data,
                   capture_output=True, env=env)
changed = {c["object"] for c in json.loads(r.stderr)["changed"]}
named = {f["object"] for f in os_findings if f["profiles"][0] == "openshift"}
if changed != named:
    print(f"FAIL {name}: openshift changes {sorted(changed - named)} without a finding, "
          f"and has findings on {sorted(named - changed)} it does not change")
    ok = False
print(f"{'ok  ' if ok else 'FAIL'} {name}: {len(findings)} finding(s), "
      f"{sum(f['certainty'] == 'definite' for f in findings)} definite")
sys.exit(0 if ok else 1)
PY
done
exit "${status}"
