//! End-to-end tests of the `exec-probes` profile: each one is named after the failure it guards.
//!
//! Besides checking the rewritten manifests, a few tests run the generated probe command under
//! `sh` against a tiny HTTP server bound to 127.0.0.1, the way the kubelet would run it inside
//! the container: it must succeed while the server answers and fail once it is gone.

use helm_fixup::profile::{Params, ProfileDef};
use helm_fixup::select::Selector;

use crate::common::docs;
use helm_fixup::{Error, Output, Plan, process};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn plan(pairs: &[(&str, &str)], only: &[&str], skip: &[&str]) -> Plan {
    let def = ProfileDef::builtin("exec-probes").unwrap();
    let set: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let params = Params::new(&def, &set).unwrap();
    let sel = |v: &[&str]| {
        v.iter()
            .map(|s| Selector::parse(s, &["exec-probes"]).unwrap())
            .collect()
    };
    Plan {
        profiles: vec![(def, params)],
        only: sel(only),
        skip: sel(skip),
        ..Plan::default()
    }
}

fn run(input: &str, pairs: &[(&str, &str)]) -> Output {
    process(input.as_bytes(), &plan(pairs, &[], &[])).unwrap()
}

fn container<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let pod = doc
        .pointer("/spec/template/spec")
        .or_else(|| doc.get("spec"))
        .unwrap();
    pod["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name} in {doc}"))
}

/// The `sh -c` command of an exec probe.
fn command(probe: &Value) -> Vec<String> {
    assert!(probe.get("httpGet").is_none(), "httpGet left: {probe}");
    probe["exec"]["command"]
        .as_array()
        .unwrap_or_else(|| panic!("no exec command in {probe}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn deployment(args: &str, probes: &str, ports: &str) -> String {
    format!(
        "---
# Source: app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: app
          image: example.com/app:1.0
          args: {args}
          ports: {ports}
{probes}"
    )
}

// ---------------------------------------------------------------------------------------------
// Conversion of loopback probes.

/// What prometheus-operator < 0.75 renders for a `listenLocal` Prometheus with reloader probes.
const RELOADER_STS: &str = "---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prometheus-k
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: prometheus
          image: quay.io/prometheus/prometheus:v2.53.0
          args:
            - --web.listen-address=127.0.0.1:9090
          readinessProbe:
            exec:
              command: [sh, -c, 'exit 0']
        - name: config-reloader
          image: quay.io/prometheus-operator/prometheus-config-reloader:v0.74.0
          args:
            - --listen-address=127.0.0.1:8080
            - --reload-url=http://127.0.0.1:9090/-/reload
          ports:
            - name: reloader-web
              containerPort: 8080
          livenessProbe:
            httpGet:
              path: /healthz
              port: reloader-web
              scheme: HTTP
            timeoutSeconds: 3
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /healthz
              port: reloader-web
            failureThreshold: 3
";

#[test]
fn config_reloader_on_loopback_stops_restart_loop() {
    let out = run(RELOADER_STS, &[]);
    let d = &docs(&out.stream)[0];
    let reloader = container(d, "config-reloader");
    for probe in ["livenessProbe", "readinessProbe"] {
        let cmd = command(&reloader[probe]);
        assert_eq!(cmd[..2], ["sh", "-c"]);
        assert!(
            cmd[2]
                .contains("exec curl --fail --silent --show-error 'http://127.0.0.1:8080/healthz'"),
            "{}",
            cmd[2]
        );
        assert!(
            cmd[2].contains("exec wget -q -O /dev/null 'http://127.0.0.1:8080/healthz'"),
            "{}",
            cmd[2]
        );
    }
    assert_eq!(reloader["livenessProbe"]["timeoutSeconds"], 3);
    assert_eq!(reloader["livenessProbe"]["periodSeconds"], 10);
    assert_eq!(reloader["readinessProbe"]["failureThreshold"], 3);
    // The prometheus container's exec probe is not touched.
    assert_eq!(
        container(d, "prometheus")["readinessProbe"]["exec"]["command"],
        json!(["sh", "-c", "exit 0"])
    );
    let text = out.report.text();
    assert!(
        text.contains("127.0.0.1:8080 (--listen-address), which the kubelet cannot reach"),
        "{text}"
    );
    assert!(text.contains("needs sh plus curl or wget"), "{text}");
    assert_eq!(out.report.warnings(), 0, "{text}");
}

#[test]
fn probe_on_named_port_hits_the_loopback_port() {
    let input = deployment(
        "[--web.listen-address, 'localhost:9100']",
        "          livenessProbe:\n            httpGet:\n              path: /metrics\n              port: metrics\n",
        "[{name: metrics, containerPort: 9100}]",
    );
    let out = run(&input, &[]);
    let cmd = command(&container(&docs(&out.stream)[0], "app")["livenessProbe"]);
    assert!(
        cmd[2].contains("'http://127.0.0.1:9100/metrics'"),
        "{}",
        cmd[2]
    );
}

/// `8080.0` is the whole number 8080 to Kubernetes (sigs.k8s.io/yaml keeps it a float64, which
/// Go's JSON writes as `8080`), in a probe's `port` as in a named port's `containerPort`.
#[test]
fn float_ports_are_read_as_whole_numbers() {
    for (probe_port, ports) in [
        ("9100.0", "[]"),
        ("metrics", "[{name: metrics, containerPort: 9100.0}]"),
        ("9.1e3", "[]"),
    ] {
        let input = deployment(
            "[--web.listen-address=127.0.0.1:9100]",
            &format!(
                "          livenessProbe:\n            httpGet:\n              path: /metrics\n              port: {probe_port}\n"
            ),
            ports,
        );
        let out = run(&input, &[]);
        let cmd = command(&container(&docs(&out.stream)[0], "app")["livenessProbe"]);
        assert!(
            cmd[2].contains("'http://127.0.0.1:9100/metrics'"),
            "{probe_port}: {}",
            cmd[2]
        );
    }
    // A fraction is no port: warned, not converted.
    let input = deployment(
        "[--web.listen-address=127.0.0.1:9100]",
        "          livenessProbe:\n            httpGet:\n              path: /metrics\n              port: 9100.5\n",
        "[]",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
}

#[test]
fn probe_on_another_port_than_the_loopback_one_is_left_alone() {
    // Only the admin port is private; the probe targets the public one and works as it is.
    let input = deployment(
        "[--admin.listen-address=127.0.0.1:9901, --listen-address=0.0.0.0:8080]",
        "          readinessProbe:\n            httpGet:\n              path: /ready\n              port: 8080\n",
        "[]",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(out.report.changed.is_empty());
}

#[test]
fn ipv6_loopback_listener_is_probed_on_ipv6_loopback() {
    let input = deployment(
        "['--http-address=[::1]:10902']",
        "          livenessProbe:\n            httpGet:\n              port: 10902\n",
        "[]",
    );
    let out = run(&input, &[]);
    let cmd = command(&container(&docs(&out.stream)[0], "app")["livenessProbe"]);
    assert!(cmd[2].contains("'http://[::1]:10902/'"), "{}", cmd[2]);
}

#[test]
fn listener_in_another_container_of_the_pod_still_counts() {
    // Containers of a pod share the network namespace: a sidecar's probe on the app's
    // loopback-only port fails the same way.
    let input = "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: app
      image: example.com/app:1
      command: [app, --listen-address, 127.0.0.1:8081]
    - name: sidecar
      image: example.com/sidecar:1
      livenessProbe:
        httpGet:
          port: 8081
          path: /healthz
";
    let out = run(input, &[]);
    let d = &docs(&out.stream)[0];
    let cmd = command(&container(d, "sidecar")["livenessProbe"]);
    assert!(
        cmd[2].contains("'http://127.0.0.1:8081/healthz'"),
        "{}",
        cmd[2]
    );
    let text = out.report.text();
    assert!(
        text.contains("container sidecar: the probed port listens only on 127.0.0.1:8081 (--listen-address of container app)"),
        "{text}"
    );
}

#[test]
fn timing_fields_survive_conversion() {
    let probes = "          startupProbe:
            httpGet:
              path: /healthz
              port: 8080
            initialDelaySeconds: 7
            periodSeconds: 11
            timeoutSeconds: 13
            successThreshold: 1
            failureThreshold: 17
            terminationGracePeriodSeconds: 19
";
    let input = deployment("[--listen-address=127.0.0.1:8080]", probes, "[]");
    let out = run(&input, &[]);
    let d = docs(&out.stream);
    let p = &container(&d[0], "app")["startupProbe"];
    command(p);
    for (k, v) in [
        ("initialDelaySeconds", 7),
        ("periodSeconds", 11),
        ("timeoutSeconds", 13),
        ("successThreshold", 1),
        ("failureThreshold", 17),
        ("terminationGracePeriodSeconds", 19),
    ] {
        assert_eq!(p[k], v, "{k}: {p}");
    }
    assert_eq!(p.as_object().unwrap().len(), 7, "{p}");
}

#[test]
fn https_probe_with_headers_skips_verification_and_sends_them() {
    let probes = "          livenessProbe:
            httpGet:
              path: /healthz
              port: 8443
              scheme: HTTPS
              httpHeaders:
                - name: Authorization
                  value: Bearer abc
                - name: X-Empty
                  value: ''
";
    let input = deployment("[--secure-listen-address=127.0.0.1:8443]", probes, "[]");
    let out = run(&input, &[]);
    let s = &command(&container(&docs(&out.stream)[0], "app")["livenessProbe"])[2];
    assert!(
        s.contains(
            "exec curl --fail --silent --show-error -k -H 'Authorization: Bearer abc' -H 'X-Empty: ' 'https://127.0.0.1:8443/healthz'"
        ),
        "{s}"
    );
    assert!(
        s.contains(
            "exec wget -q -O /dev/null --no-check-certificate --header 'Authorization: Bearer abc' --header 'X-Empty: ' 'https://127.0.0.1:8443/healthz'"
        ),
        "{s}"
    );
}

#[test]
fn probe_path_with_quotes_is_shell_safe() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    let path = format!(
        "/it's $(touch {}) `touch {}` ok",
        marker.display(),
        marker.display()
    );
    let server = Server::start();
    let input = probe_stream(
        server.port,
        &path,
        &[("X-Note", &format!("it's $(touch {})", marker.display()))],
    );
    let out = run(&input, &[]);
    let cmd = command(&container(&docs(&out.stream)[0], "app")["livenessProbe"]);
    let check = Command::new("sh")
        .args(["-n", "-c", &cmd[2]])
        .status()
        .unwrap();
    assert!(
        check.success(),
        "sh -n rejects the probe script: {}",
        cmd[2]
    );
    let live = has("curl") || has("wget");
    if live {
        assert!(
            run_probe(&cmd, None),
            "probe failed against the server: {}",
            cmd[2]
        );
    }
    let requests = server.stop();
    assert!(
        !marker.exists(),
        "the probe path was executed by the shell: {}",
        cmd[2]
    );
    assert_eq!(requests.len(), usize::from(live), "{requests:?}");
    if let Some(r) = requests.first() {
        let want = format!(
            "GET /it's%20$(touch%20{m})%20%60touch%20{m}%60%20ok ",
            m = marker.display()
        );
        assert!(r.starts_with(&want), "request: {r}\nwant: {want}");
        assert!(
            r.contains(&format!("X-Note: it's $(touch {})", marker.display())),
            "{r}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Left alone.

#[test]
fn public_listener_probes_are_left_alone() {
    let input = deployment(
        "[--web.listen-address=:9100, --upstream=http://127.0.0.1:8081/]",
        "          livenessProbe:\n            httpGet:\n              port: 9100\n          readinessProbe:\n            httpGet:\n              port: 8081\n",
        "[]",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(out.report.messages.is_empty(), "{}", out.report.text());
}

#[test]
fn second_run_changes_nothing() {
    let first = run(RELOADER_STS, &[]);
    let second = process(&first.stream, &plan(&[], &[], &[])).unwrap();
    assert_eq!(second.stream, first.stream);
    assert!(second.report.changed.is_empty());
}

#[test]
fn unresolvable_named_port_is_warned_not_guessed() {
    let input = deployment(
        "[--listen-address=127.0.0.1:8080]",
        "          livenessProbe:\n            httpGet:\n              port: http\n",
        "[{name: web, containerPort: 8080}]",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    let text = out.report.text();
    assert!(
        text.contains("container app livenessProbe left as httpGet: its port \"http\" is not among the container's ports"),
        "{text}"
    );
}

#[test]
fn distroless_image_is_warned() {
    let input = deployment(
        "[--listen-address=127.0.0.1:8080]",
        "          livenessProbe:\n            httpGet:\n              port: 8080\n",
        "[]",
    )
    .replace("example.com/app:1.0", "gcr.io/distroless/static:nonroot");
    let out = run(&input, &[]);
    assert_eq!(out.report.warnings(), 1, "{}", out.report.text());
    assert!(out.report.text().contains(
        "container app: image gcr.io/distroless/static:nonroot looks distroless (no sh, curl or wget)"
    ));
}

// ---------------------------------------------------------------------------------------------
// all=true.

#[test]
fn all_with_container_selector_converts_any_httpget_probe() {
    let input = "apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: web
      image: example.com/web:1
      ports: [{name: http, containerPort: 8080}]
      readinessProbe:
        httpGet: {port: http, path: /ready}
    - name: other
      image: example.com/other:1
      readinessProbe:
        httpGet: {port: 9000}
";
    let p = plan(&[("all", "true")], &["exec-probes:container=web"], &[]);
    let out = process(input.as_bytes(), &p).unwrap();
    let d = &docs(&out.stream)[0];
    let cmd = command(&container(d, "web")["readinessProbe"]);
    assert!(
        cmd[2].contains("'http://127.0.0.1:8080/ready'"),
        "{}",
        cmd[2]
    );
    assert_eq!(
        container(d, "other")["readinessProbe"]["httpGet"]["port"],
        9000
    );
    // The only warning: a bare Pod's spec cannot change once it exists.
    assert_eq!(out.report.warnings(), 1, "{}", out.report.text());
    assert!(out.report.text().contains("a pod's spec cannot change"));
    assert!(out.report.text().contains("container web: all=true"));
}

#[test]
fn all_without_selector_warns_that_it_converts_everything() {
    let input = deployment(
        "[]",
        "          livenessProbe:\n            httpGet:\n              port: 80\n",
        "[]",
    );
    let out = run(&input, &[("all", "true")]);
    command(&container(&docs(&out.stream)[0], "app")["livenessProbe"]);
    assert!(
        out.report
            .text()
            .contains("all=true without --only converts every httpGet probe"),
        "{}",
        out.report.text()
    );
}

#[test]
fn operator_generated_container_is_not_patched() {
    // A CR entry named like a generated container is a strategic-merge patch: before operator
    // 0.91 its probe handler would be kept next to the operator's, and the pod rejected.
    let input = "apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata:
  name: am
spec:
  containers:
    - name: config-reloader
      readinessProbe:
        httpGet: {port: 8080}
";
    let p = plan(
        &[("all", "true")],
        &["exec-probes:container=config-reloader"],
        &[],
    );
    let out = process(input.as_bytes(), &p).unwrap();
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report
            .text()
            .contains("container config-reloader is generated by the operator"),
        "{}",
        out.report.text()
    );
}

// ---------------------------------------------------------------------------------------------
// Operator resources with listenLocal.

fn operator_stream(image: &str, probes_flag: bool) -> String {
    format!(
        "---
# Source: kps/templates/prometheus-operator/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-operator
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: kube-prometheus-stack
          image: \"{image}\"
          args:
            - --kubelet-service=kube-system/kps-kubelet{flag}
            - --web.listen-address=:10250
---
# Source: kps/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  listenLocal: true
  replicas: 1
",
        flag = if probes_flag {
            "\n            - --enable-config-reloader-probes=true"
        } else {
            ""
        }
    )
}

const PROMETHEUS_ONLY: &str = "apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: p
  namespace: monitoring
spec:
  listenLocal: true
";

fn operator_args(out: &Output) -> Value {
    container(&docs(&out.stream)[0], "kube-prometheus-stack")["args"].clone()
}

#[test]
fn operator_074_with_probes_drops_the_flag() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
        true,
    );
    let out = run(&input, &[]);
    assert_eq!(
        operator_args(&out),
        json!([
            "--kubelet-service=kube-system/kps-kubelet",
            "--web.listen-address=:10250"
        ])
    );
    let text = out.report.text();
    assert!(
        text.contains("args[1] removed (was --enable-config-reloader-probes=true)"),
        "{text}"
    );
    assert!(
        text.contains("cannot replace that probe before operator 0.91"),
        "{text}"
    );
    assert!(text.contains("upgrading the operator to >= 0.75"), "{text}");
    // The CR itself is not touched, and a second run finds nothing left to do.
    let again = process(&out.stream, &plan(&[], &[], &[])).unwrap();
    assert_eq!(again.stream, out.stream);
}

#[test]
fn operator_093_changes_nothing() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.93.1",
        true,
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(out.report.text().contains(
        "listenLocal: prometheus-operator 0.93.1 (image quay.io/prometheus-operator/prometheus-operator:v0.93.1) already gives the config-reloader exec probes"
    ));
}

#[test]
fn operator_074_without_probes_flag_changes_nothing() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
        false,
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report
            .text()
            .contains("runs without --enable-config-reloader-probes")
    );
}

#[test]
fn operator_below_065_has_no_probes_to_fix() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.64.1",
        true,
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report
            .text()
            .contains("predates config-reloader probes (0.65)")
    );
}

#[test]
fn operator_image_behind_registry_port_and_digest_is_read() {
    let input = operator_stream(
        "registry.local:5000/mirror/prometheus-operator:v0.70.1@sha256:0123456789abcdef",
        true,
    );
    let out = run(&input, &[]);
    assert_eq!(operator_args(&out).as_array().unwrap().len(), 2);
}

#[test]
fn operator_version_unknown_warns_with_the_choices() {
    // Operator installed by another release: not in the stream.
    let out = run(PROMETHEUS_ONLY, &[]);
    assert_eq!(out.stream, PROMETHEUS_ONLY.as_bytes());
    // One for the config-reloader, one for the Prometheus image nobody named.
    assert_eq!(out.report.warnings(), 2, "{}", out.report.text());
    let text = out.report.text();
    assert!(text.contains("Set spec.image"), "{text}");
    for choice in [
        "exec-probes.operatorVersion=X.Y.Z",
        "prometheusOperator.prometheusConfigReloader.enableProbe=false",
        "upgrade the operator to >= 0.75",
    ] {
        assert!(text.contains(choice), "{choice} missing: {text}");
    }
    // An image pinned by digest only has no version either.
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator@sha256:0123456789abcdef",
        true,
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report.text().contains("has no version tag"),
        "{}",
        out.report.text()
    );
}

#[test]
fn operator_version_param_decides() {
    let out = run(PROMETHEUS_ONLY, &[("operatorVersion", "v0.80.0")]);
    // What remains is the Prometheus image, which the operator version does not tell.
    assert_eq!(out.report.warnings(), 1, "{}", out.report.text());
    assert!(
        out.report
            .text()
            .contains("cannot tell the prometheus container's image")
    );
    assert!(
        out.report
            .text()
            .contains("(exec-probes.operatorVersion) already gives")
    );
    // The parameter wins over an image tag that does not say (e.g. `latest`).
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:latest",
        true,
    );
    let out = run(&input, &[("operatorVersion", "0.72.0")]);
    assert_eq!(operator_args(&out).as_array().unwrap().len(), 2);
    // 0.65-0.74 but the operator is elsewhere: nothing to change here, say what to do.
    let out = run(PROMETHEUS_ONLY, &[("operatorVersion", "0.70")]);
    assert_eq!(out.report.warnings(), 2, "{}", out.report.text());
    assert!(
        out.report
            .text()
            .contains("its Deployment is not in this stream to fix")
    );
}

#[test]
fn bad_operator_version_is_a_usage_error() {
    let def = ProfileDef::builtin("exec-probes").unwrap();
    let set = BTreeMap::from([("operatorVersion".to_string(), "seventy".to_string())]);
    // Refused when the parameters are read, before any input.
    let e = Params::new(&def, &set).unwrap_err();
    assert!(e.message().contains("exec-probes.operatorVersion"), "{e}");
    // A plan built in code without that check is refused by the engine alike.
    let params = Params::from_pairs("exec-probes", &[("operatorVersion", "seventy")]);
    let plan = Plan {
        profiles: vec![(def, params)],
        ..Plan::default()
    };
    match process(PROMETHEUS_ONLY.as_bytes(), &plan) {
        Err(Error::Usage(m)) => assert!(m.contains("exec-probes.operatorVersion"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn unselected_operator_keeps_its_flag_with_a_warning() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
        true,
    );
    let p = plan(&[], &[], &["exec-probes:kind=Deployment"]);
    let out = process(input.as_bytes(), &p).unwrap();
    assert_eq!(out.stream, input.as_bytes());
    assert_eq!(out.report.warnings(), 1, "{}", out.report.text());
    assert!(out.report.text().contains("not selected"));
}

#[test]
fn operator_selected_by_name_is_fixed_for_a_listen_local_resource() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
        true,
    );
    let p = plan(&[], &["exec-probes:kind=Deployment,name=kps-operator"], &[]);
    let out = process(input.as_bytes(), &p).unwrap();
    assert_eq!(operator_args(&out).as_array().unwrap().len(), 2);
    // Skipping the resource removes the evidence: nothing to do.
    let p = plan(&[], &[], &["exec-probes:kind=Prometheus"]);
    let out = process(input.as_bytes(), &p).unwrap();
    assert_eq!(out.stream, input.as_bytes());
}

#[test]
fn without_listen_local_the_operator_is_left_alone() {
    let input = operator_stream(
        "quay.io/prometheus-operator/prometheus-operator:v0.74.0",
        true,
    )
    .replace("listenLocal: true", "listenLocal: false");
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(out.report.messages.is_empty(), "{}", out.report.text());
}

// ---------------------------------------------------------------------------------------------
// listenLocal on images without a shell (kube-prometheus-stack >= 85 defaults to
// `prometheus:vX-distroless`, prometheus-operator#8605).

const OPERATOR_0931: &str = "quay.io/prometheus-operator/prometheus-operator:v0.93.1";

/// An operator Deployment with extra args, then one CR with the given spec lines.
fn cr_stream(operator_args: &[&str], kind: &str, spec: &str) -> String {
    let mut s = String::new();
    if !operator_args.is_empty() {
        s.push_str(&format!(
            "---
# Source: kps/templates/prometheus-operator/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kps-operator
  namespace: monitoring
spec:
  template:
    spec:
      containers:
        - name: kube-prometheus-stack
          image: \"{OPERATOR_0931}\"
          args:
{}
",
            operator_args
                .iter()
                .map(|a| format!("            - {a}\n"))
                .collect::<String>()
                .trim_end()
        ));
    }
    s.push_str(&format!(
        "---
# Source: kps/templates/prometheus/prometheus.yaml
apiVersion: monitoring.coreos.com/v1
kind: {kind}
metadata:
  name: kps-prometheus
  namespace: monitoring
spec:
  listenLocal: true
{spec}"
    ));
    s
}

const DISTROLESS: &str = "  image: \"quay.io/prometheus/prometheus:v3.14.0-distroless\"
  version: \"v3.14.0-distroless\"
  routePrefix: \"/\"
";

fn cr_of(out: &Output) -> Value {
    docs(&out.stream)
        .into_iter()
        .find(|d| {
            d["kind"]
                .as_str()
                .is_some_and(|k| k.starts_with("Prometheus"))
        })
        .unwrap()
}

/// The `spec.containers` entries named `prometheus` of the CR.
fn main_entries(out: &Output) -> Vec<Value> {
    cr_of(out)["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == "prometheus")
        .cloned()
        .collect()
}

fn promtool(check: &str, url: &str) -> Value {
    json!({"command": ["/bin/promtool", "check", check, format!("--url={url}")]})
}

/// The operator's strategic merge of a `spec.containers` entry into a generated container, for
/// the fields involved here: mappings merge key by key, lists without a merge key (`command`)
/// and scalars are replaced, null deletes (prometheus-operator `pkg/k8s/merge.go`).
fn strategic_merge(base: &Value, patch: &Value) -> Value {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            let mut out = b.clone();
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = match b.get(k) {
                        Some(old) => strategic_merge(old, v),
                        None => v.clone(),
                    };
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        _ => patch.clone(),
    }
}

/// The `prometheus` container prometheus-operator v0.93.0 generates under listenLocal
/// (`BuildProbes`: its `sh -c` curl/wget exec probes and their timings).
fn operator_prometheus_container() -> Value {
    let sh = |path: &str| {
        json!({"command": ["sh", "-c", format!(
            "if [ -x \"$(command -v curl)\" ]; then exec curl --fail http://localhost:9090{path}; elif [ -x \"$(command -v wget)\" ]; then exec wget -q -O /dev/null http://localhost:9090{path}; else exit 1; fi")]})
    };
    json!({
        "name": "prometheus",
        "image": "quay.io/prometheus/prometheus:v3.14.0-distroless",
        "args": ["--web.listen-address=127.0.0.1:9090"],
        "startupProbe": {"exec": sh("/-/ready"), "timeoutSeconds": 3, "periodSeconds": 15, "failureThreshold": 60},
        "readinessProbe": {"exec": sh("/-/ready"), "timeoutSeconds": 3, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"exec": sh("/-/healthy"), "timeoutSeconds": 3, "periodSeconds": 5, "failureThreshold": 6},
    })
}

#[test]
fn distroless_prometheus_with_listen_local_becomes_ready() {
    let input = cr_stream(
        &["--kubelet-service=kube-system/kps-kubelet"],
        "Prometheus",
        DISTROLESS,
    );
    let out = run(&input, &[]);
    let entries = main_entries(&out);
    assert_eq!(entries.len(), 1, "{entries:?}");
    let url = "http://127.0.0.1:9090";
    assert_eq!(
        entries[0],
        json!({
            "name": "prometheus",
            "livenessProbe": {"exec": promtool("healthy", url)},
            "readinessProbe": {"exec": promtool("ready", url)},
            "startupProbe": {"exec": promtool("ready", url)},
        })
    );
    // What the operator makes of it: one exec handler per probe, no shell, its timings kept.
    let merged = strategic_merge(&operator_prometheus_container(), &entries[0]);
    let generated = operator_prometheus_container();
    for (probe, check) in [
        ("livenessProbe", "healthy"),
        ("readinessProbe", "ready"),
        ("startupProbe", "ready"),
    ] {
        let p = &merged[probe];
        assert_eq!(p["exec"], promtool(check, url), "{probe}");
        assert!(p.get("httpGet").is_none() && p.get("tcpSocket").is_none());
        for timing in ["timeoutSeconds", "periodSeconds", "failureThreshold"] {
            assert_eq!(p[timing], generated[probe][timing], "{probe} {timing}");
        }
    }
    let text = out.report.text();
    assert!(text.contains("v3.14.0-distroless has no shell"), "{text}");
    assert_eq!(out.report.warnings(), 0, "{text}");
    crate::common::assert_idempotent(&out, &["exec-probes"], &[]);
}

#[test]
fn exec_probes_keeps_existing_container_patch_entry() {
    let spec = format!(
        "{DISTROLESS}  containers:
    - name: oauth-proxy
      image: quay.io/oauth2-proxy/oauth2-proxy:v7.6.0
      args: [--upstream=http://127.0.0.1:9090]
    - name: prometheus
      resources:
        requests: {{memory: 2Gi}}
      readinessProbe:
        periodSeconds: 10
"
    );
    let input = cr_stream(
        &["--kubelet-service=kube-system/kps-kubelet"],
        "Prometheus",
        &spec,
    );
    let out = run(&input, &[]);
    let cr = cr_of(&out);
    let list = cr["spec"]["containers"].as_array().unwrap();
    assert_eq!(list.len(), 2, "no entry added: {list:?}");
    assert_eq!(list[0]["name"], "oauth-proxy");
    assert!(
        list[0].get("readinessProbe").is_none(),
        "sidecar left alone"
    );
    let entry = &list[1];
    assert_eq!(entry["resources"], json!({"requests": {"memory": "2Gi"}}));
    assert_eq!(
        entry["readinessProbe"],
        json!({"exec": promtool("ready", "http://127.0.0.1:9090"), "periodSeconds": 10})
    );
    assert_eq!(
        entry["livenessProbe"],
        json!({"exec": promtool("healthy", "http://127.0.0.1:9090")})
    );
    // The chart's own lines are still there as they were written.
    let text = String::from_utf8_lossy(&out.stream);
    assert!(
        text.contains("args: [--upstream=http://127.0.0.1:9090]"),
        "{text}"
    );
    crate::common::assert_idempotent(&out, &["exec-probes"], &[]);
}

#[test]
fn route_prefix_reaches_the_promtool_url_and_dollar_survives_the_kubelet() {
    let spec = DISTROLESS.replace("routePrefix: \"/\"", "routePrefix: \"/prom/$x/../ui/\"");
    let out = run(&cr_stream(&["--x"], "Prometheus", &spec), &[]);
    let entry = &main_entries(&out)[0];
    // path.Clean, no trailing slash (promtool appends /-/healthy), `$` doubled for the kubelet.
    assert_eq!(
        entry["livenessProbe"]["exec"],
        promtool("healthy", "http://127.0.0.1:9090/prom/ui")
    );
    let spec = DISTROLESS.replace("routePrefix: \"/\"", "routePrefix: \"/a$b\"");
    let out = run(&cr_stream(&["--x"], "Prometheus", &spec), &[]);
    assert_eq!(
        main_entries(&out)[0]["readinessProbe"]["exec"],
        promtool("ready", "http://127.0.0.1:9090/a$$b")
    );
}

#[test]
fn distroless_image_built_from_base_image_and_version_is_recognised() {
    // spec.baseImage + spec.version, as the operator's BuildImagePath joins them.
    let spec = "  baseImage: quay.io/prometheus/prometheus\n  version: v3.14.0-distroless\n";
    let out = run(&cr_stream(&["--x"], "Prometheus", spec), &[]);
    assert_eq!(main_entries(&out).len(), 1, "{}", out.report.text());
    // The operator's --prometheus-default-base-image, untagged, + spec.tag.
    let spec = "  tag: v3.14.0-distroless\n  version: v3.14.0\n";
    let out = run(
        &cr_stream(
            &["--prometheus-default-base-image=registry.local:5000/prometheus/prometheus"],
            "Prometheus",
            spec,
        ),
        &[],
    );
    assert_eq!(main_entries(&out).len(), 1, "{}", out.report.text());
    assert!(
        out.report
            .text()
            .contains("registry.local:5000/prometheus/prometheus:v3.14.0-distroless has no shell")
    );
    // A tagged default base image is used as it is, whatever the version says.
    let out = run(
        &cr_stream(
            &[
                "--prometheus-default-base-image",
                "quay.io/prometheus/prometheus:v3.14.0-distroless",
            ],
            "Prometheus",
            "  version: v3.14.0\n",
        ),
        &[],
    );
    assert_eq!(main_entries(&out).len(), 1, "{}", out.report.text());
    // The operator's own default base image has a shell.
    let out = run(
        &cr_stream(&["--x"], "Prometheus", "  version: v3.14.0\n"),
        &[],
    );
    assert!(main_entries(&out).is_empty());
}

#[test]
fn busybox_prometheus_image_with_listen_local_is_left_alone() {
    let spec = DISTROLESS.replace("-distroless", "");
    let input = cr_stream(&["--x"], "Prometheus", &spec);
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report.text().contains("does not look distroless"),
        "{}",
        out.report.text()
    );
}

#[test]
fn unknown_prometheus_image_warns_and_names_what_to_set() {
    // No spec.image and no operator Deployment: its --prometheus-default-base-image decides.
    let input = cr_stream(&[], "Prometheus", "  version: v3.14.0\n");
    let out = run(&input, &[("operatorVersion", "0.93.1")]);
    assert_eq!(out.stream, input.as_bytes());
    let warnings = crate::common::messages(
        &out,
        helm_fixup::report::Level::Warning,
        "Prometheus monitoring/kps-prometheus",
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for want in [
        "--prometheus-default-base-image",
        "spec.image",
        "prometheus.prometheusSpec.image",
    ] {
        assert!(warnings[0].contains(want), "{want}: {}", warnings[0]);
    }
}

#[test]
fn operator_before_053_gets_only_the_readiness_probe_it_generates() {
    // A startup or liveness probe the operator does not generate would run with Kubernetes'
    // default timings (3 x 10 s) and kill a Prometheus replaying its WAL.
    let input = cr_stream(&[], "Prometheus", DISTROLESS);
    let out = run(&input, &[("operatorVersion", "0.50.0")]);
    let entry = &main_entries(&out)[0];
    assert!(entry.get("readinessProbe").is_some(), "{entry}");
    assert!(entry.get("livenessProbe").is_none() && entry.get("startupProbe").is_none());
}

#[test]
fn unknown_operator_version_and_no_prometheus_3_version_warns_instead_of_guessing_probes() {
    let spec = "  image: quay.io/prometheus/prometheus:v3.14.0-distroless\n";
    let input = cr_stream(&[], "Prometheus", spec);
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    let text = out.report.text();
    assert!(
        text.contains("exec-probes.operatorVersion=X.Y.Z (or spec.version)"),
        "{text}"
    );
    // A Prometheus 3 spec.version tells: operators before 0.77 refuse it.
    let out = run(&cr_stream(&[], "Prometheus", DISTROLESS), &[]);
    assert_eq!(
        main_entries(&out)[0].as_object().unwrap().len(),
        4,
        "name + three probes"
    );
}

#[test]
fn chart_probe_with_another_handler_is_left_alone_with_a_warning() {
    let spec = format!(
        "{DISTROLESS}  containers:
    - name: prometheus
      readinessProbe:
        tcpSocket: {{port: 9090}}
"
    );
    let out = run(&cr_stream(&["--x"], "Prometheus", &spec), &[]);
    let entry = &main_entries(&out)[0];
    assert_eq!(
        entry["readinessProbe"],
        json!({"tcpSocket": {"port": 9090}})
    );
    assert!(entry["livenessProbe"]["exec"].is_object());
    assert!(entry["startupProbe"]["exec"].is_object());
    let text = out.report.text();
    assert_eq!(out.report.warnings(), 1, "{text}");
    assert!(
        text.contains("readinessProbe sets its own tcpSocket handler"),
        "{text}"
    );
    crate::common::assert_idempotent(&out, &["exec-probes"], &[]);
}

#[test]
fn shell_exec_probe_in_the_chart_entry_is_replaced_keeping_its_timings() {
    let spec = format!(
        "{DISTROLESS}  containers:
    - name: prometheus
      livenessProbe:
        exec:
          command: [sh, -c, \"wget -q -O- http://localhost:9090/-/healthy\"]
        failureThreshold: 20
"
    );
    let out = run(&cr_stream(&["--x"], "Prometheus", &spec), &[]);
    assert_eq!(
        main_entries(&out)[0]["livenessProbe"],
        json!({"exec": promtool("healthy", "http://127.0.0.1:9090"), "failureThreshold": 20})
    );
    assert_eq!(out.report.warnings(), 0, "{}", out.report.text());
}

#[test]
fn distroless_image_without_a_known_tool_warns_naming_image_and_container() {
    let spec = "  image: registry.local/custom/prom-static:v3-distroless\n  version: v3.14.0\n";
    let input = cr_stream(&["--x"], "Prometheus", spec);
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    let text = out.report.text();
    assert!(
        text.contains("image registry.local/custom/prom-static:v3-distroless has no shell")
            && text.contains("prometheus container")
            && text.contains("no probe tool is known"),
        "{text}"
    );
}

#[test]
fn containers_that_are_not_a_list_are_warned_not_replaced() {
    for bad in ["  containers: oops\n", "  containers: {prometheus: {}}\n"] {
        let input = cr_stream(&["--x"], "Prometheus", &format!("{DISTROLESS}{bad}"));
        let out = run(&input, &[]);
        assert_eq!(out.stream, input.as_bytes());
        assert!(
            out.report.text().contains("spec.containers is not a list"),
            "{}",
            out.report.text()
        );
    }
    // null is "no entries yet".
    let input = cr_stream(
        &["--x"],
        "Prometheus",
        &format!("{DISTROLESS}  containers: null\n"),
    );
    assert_eq!(main_entries(&run(&input, &[])).len(), 1);
}

#[test]
fn prometheus_agent_with_distroless_image_gets_promtool_probes_too() {
    let out = run(&cr_stream(&["--x"], "PrometheusAgent", DISTROLESS), &[]);
    assert_eq!(main_entries(&out).len(), 1, "{}", out.report.text());
}

#[test]
fn alertmanager_with_listen_local_has_no_probes_to_replace() {
    let input = cr_stream(
        &["--x"],
        "Alertmanager",
        "  image: quay.io/prometheus/alertmanager:v0.34.0-distroless\n",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
}

#[test]
fn distroless_config_reloader_with_probes_warns_naming_its_image() {
    let input = cr_stream(
        &[
            "--enable-config-reloader-probes=true",
            "--prometheus-config-reloader=registry.local/config-reloader:v0.93.1-distroless",
        ],
        "Prometheus",
        "  image: quay.io/prometheus/prometheus:v3.14.0\n",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes());
    let text = out.report.text();
    assert!(
        text.contains(
            "config-reloader runs image registry.local/config-reloader:v0.93.1-distroless"
        ),
        "{text}"
    );
    // The default reloader image is busybox-based: no warning.
    let out = run(
        &cr_stream(
            &["--enable-config-reloader-probes=true"],
            "Prometheus",
            "  image: quay.io/prometheus/prometheus:v3.14.0\n",
        ),
        &[],
    );
    assert_eq!(out.report.warnings(), 0, "{}", out.report.text());
}

#[test]
fn unselected_distroless_prometheus_is_warned_not_patched() {
    let input = cr_stream(&["--x"], "Prometheus", DISTROLESS);
    let out = process(
        input.as_bytes(),
        &plan(&[], &["exec-probes:kind=Deployment"], &[]),
    )
    .unwrap();
    assert_eq!(out.stream, input.as_bytes());
    assert!(
        out.report.text().contains("not selected"),
        "{}",
        out.report.text()
    );
    // Selecting the generated container by name reaches the CR, which has no entry for it yet.
    let out = process(
        input.as_bytes(),
        &plan(&[], &["exec-probes:container=prometheus"], &[]),
    )
    .unwrap();
    assert_eq!(main_entries(&out).len(), 1, "{}", out.report.text());
}

// ---------------------------------------------------------------------------------------------
// The generated command, run for real.

/// A one-request-at-a-time HTTP/1.0 server on 127.0.0.1 that answers 200 and records the
/// request heads. It stops when told to, and on its own after 60 s so a failing test cannot hang.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<String>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut requests = Vec::new();
            while !flag.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                            match conn.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        requests.push(String::from_utf8_lossy(&head).into_owned());
                        let _ = conn
                            .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
            requests
        });
        Server {
            port,
            stop,
            handle: Some(handle),
        }
    }

    /// Stop serving and close the port; returns the request heads seen.
    fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A tool is missing: fine on a developer machine (note it), a failure in CI.
fn missing(tool: &str) {
    let msg = format!("{tool} not found: the probe cannot be run for real");
    if std::env::var_os("CI").is_some() {
        panic!("{msg}; CI is set, so these tests must run");
    }
    eprintln!("skipping: {msg}");
}

/// Run the probe command like the kubelet would, with an optional PATH, within 20 seconds.
/// What the kubelet does to an exec probe command before running it
/// (`ExpandContainerCommandOnlyStatic`): `$$` becomes `$`, `$(VAR)` of a static env var its
/// value (these probes' containers have none), anything else stays.
fn kubelet_expand(s: &str) -> String {
    s.replace("$$", "\u{0}").replace('\u{0}', "$")
}

fn run_probe(cmd: &[String], path: Option<&Path>) -> bool {
    let mut c = Command::new("/bin/sh");
    let cmd: Vec<String> = cmd.iter().map(|a| kubelet_expand(a)).collect();
    c.args(&cmd[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(p) = path {
        c.env("PATH", p);
    }
    let mut child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("probe did not finish in 20 s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Deployment whose process listens on 127.0.0.1:PORT, probed by httpGet on PATH.
fn probe_stream(port: u16, path: &str, headers: &[(&str, &str)]) -> String {
    let headers: String = headers
        .iter()
        .map(|(n, v)| {
            format!(
                "\n                - name: {n}\n                  value: {}",
                json!(v)
            )
        })
        .collect();
    let probes = format!(
        "          livenessProbe:
            httpGet:
              path: {}
              port: web
              httpHeaders:{}
            periodSeconds: 10
",
        json!(path),
        if headers.is_empty() { " []" } else { &headers }
    );
    deployment(
        &format!("[--web.listen-address=127.0.0.1:{port}]"),
        &probes,
        &format!("[{{name: web, containerPort: {port}}}]"),
    )
}

/// A directory whose only programs are `sh` and the given tools (symlinks), for a PATH without
/// curl or without wget.
fn bin_dir_with(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for tool in ["sh"].iter().chain(tools) {
        let out = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let target = String::from_utf8(out.stdout).unwrap();
        std::os::unix::fs::symlink(target.trim(), dir.path().join(tool)).unwrap();
    }
    dir
}

fn converted_probe(port: u16) -> Vec<String> {
    let out = run(
        &probe_stream(port, "/healthz", &[("X-Probe", "kubelet")]),
        &[],
    );
    command(&container(&docs(&out.stream)[0], "app")["livenessProbe"])
}

#[test]
fn generated_probe_succeeds_while_the_server_answers_and_fails_when_it_stops() {
    if !has("curl") {
        return missing("curl");
    }
    let server = Server::start();
    let port = server.port;
    let cmd = converted_probe(port);
    assert!(
        run_probe(&cmd, None),
        "probe failed against a live server: {cmd:?}"
    );
    let requests = server.stop();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].starts_with("GET /healthz "), "{}", requests[0]);
    assert!(requests[0].contains("X-Probe: kubelet"), "{}", requests[0]);
    assert!(
        !run_probe(&cmd, None),
        "probe succeeded with the server gone: {cmd:?}"
    );
}

#[test]
fn wget_fallback_works_in_images_without_curl() {
    if !has("wget") {
        return missing("wget");
    }
    let bin = bin_dir_with(&["wget"]);
    let server = Server::start();
    let cmd = converted_probe(server.port);
    assert!(
        run_probe(&cmd, Some(bin.path())),
        "wget probe failed: {cmd:?}"
    );
    let requests = server.stop();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].contains("X-Probe: kubelet"), "{}", requests[0]);
    assert!(
        !run_probe(&cmd, Some(bin.path())),
        "wget probe succeeded with the server gone"
    );
}

#[test]
fn image_without_curl_or_wget_fails_the_probe() {
    let bin = bin_dir_with(&[]);
    let server = Server::start();
    let cmd = converted_probe(server.port);
    assert!(
        !run_probe(&cmd, Some(bin.path())),
        "a probe without curl or wget must fail"
    );
    assert!(server.stop().is_empty());
}

#[test]
fn odd_shapes_are_skipped_without_panicking() {
    let cases = [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {a: 1}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [1, null, [x]]\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      args: [--listen-address, {x: 1}, 127.0.0.1:80, 5]\n      livenessProbe: yes\n      readinessProbe: {httpGet: [1]}\n      startupProbe: {httpGet: {port: {x: 1}}}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      args: ['--listen-address=[::1]:', '--listen-address=[', '--listen-address=:', '--listen-address=127.0.0.1:-1']\n      ports: {x: 1}\n      livenessProbe: {httpGet: {port: named, httpHeaders: [1, {name: 2}, {name: X, value: [1]}]}}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: a\n      args: [--listen-address=127.0.0.1:80]\n      ports: [{name: named, containerPort: 99999}]\n      livenessProbe: {httpGet: {port: named, path: \"\\u00e9\\u0000 x\", scheme: https}}\n",
        "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: p}\nspec:\n  listenLocal: true\n  containers: 7\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: o}\nspec:\n  template:\n    spec:\n      containers:\n        - image: [x]\n        - image: prometheus-operator:v0.70.0\n          args: --enable-config-reloader-probes=true\n        - image: 'prometheus-operator:'\n",
        "apiVersion: monitoring.coreos.com/v1\nkind: ThanosRuler\nmetadata: {name: t}\nspec:\n  listenLocal: \"true\"\n",
    ];
    for input in cases {
        for pairs in [
            &[][..],
            &[("all", "true")][..],
            &[("operatorVersion", "0.70.0")][..],
        ] {
            let out = process(input.as_bytes(), &plan(pairs, &[], &[]))
                .unwrap_or_else(|e| panic!("{e} for:\n{input}"));
            let again = process(&out.stream, &plan(pairs, &[], &[])).unwrap();
            assert_eq!(again.stream, out.stream, "not idempotent for:\n{input}");
        }
    }
}

#[test]
fn dollar_in_probe_path_survives_kubelet_expansion() {
    // The kubelet expands `$(VAR)` of the container's static env and turns `$$` into `$` in exec
    // probe commands, never in httpGet paths or headers: a converted probe must escape `$`,
    // or `$(TOKEN)` below would become the token's value and `$$` a single `$`.
    let probes = "          env:
            - name: TOKEN
              value: secret
          livenessProbe:
            httpGet:
              path: /check?v=$(TOKEN)&w=$$
              port: 9090
              httpHeaders:
                - name: X-Env
                  value: $(TOKEN)
";
    let input = deployment("[--web.listen-address=127.0.0.1:9090]", probes, "[]");
    let out = run(&input, &[]);
    let s = &command(&container(&docs(&out.stream)[0], "app")["livenessProbe"])[2];
    assert!(
        s.contains("'http://127.0.0.1:9090/check?v=$$(TOKEN)&w=$$$$'"),
        "{s}"
    );
    assert!(s.contains("-H 'X-Env: $$(TOKEN)'"), "{s}");
    // After the kubelet's pass the shell sees exactly the original values.
    assert!(kubelet_expand(s).contains("'http://127.0.0.1:9090/check?v=$(TOKEN)&w=$$'"));
    // prometheus-operator's own `$(command -v curl)` is not an env var: the kubelet leaves it.
    assert!(s.contains("[ -x \"$(command -v curl)\" ]"));
}

// ---------------------------------------------------------------------------------------------
// Go `flag` style listen flags, tcpSocket and gRPC probes (VictoriaMetrics and friends).

/// victoria-metrics-single with `-httpListenAddr` bound to loopback: an httpGet readiness probe
/// and the chart's default tcpSocket liveness probe on the same port.
fn vmsingle(listen: &str) -> String {
    deployment(
        listen,
        "          readinessProbe:
            httpGet: {path: /health, port: http}
          livenessProbe:
            tcpSocket: {port: http}
            periodSeconds: 30
            failureThreshold: 10
",
        "[{name: http, containerPort: 8428}]",
    )
}

#[test]
fn single_dash_camel_case_listen_flag_is_found() {
    for args in [
        "[-httpListenAddr=127.0.0.1:8428]",
        "[-httpListenAddr, '127.0.0.1:8428']",
        "[--httpListenAddr=localhost:8428]",
    ] {
        let out = run(&vmsingle(args), &[]);
        let d = docs(&out.stream);
        let c = container(&d[0], "app");
        let ready = command(&c["readinessProbe"]);
        assert!(
            ready[2].contains("http://127.0.0.1:8428/health"),
            "{args}: {ready:?}"
        );
    }
    // Bound to every address: nothing to do.
    let out = run(&vmsingle("[-httpListenAddr=:8428]"), &[]);
    assert_eq!(out.stream, vmsingle("[-httpListenAddr=:8428]").as_bytes());
}

#[test]
fn tcp_socket_liveness_on_a_loopback_port_stops_the_restart_loop() {
    let out = run(&vmsingle("[-httpListenAddr=127.0.0.1:8428]"), &[]);
    let d = docs(&out.stream);
    let live = &container(&d[0], "app")["livenessProbe"];
    assert!(live.get("tcpSocket").is_none(), "{live}");
    assert_eq!(live["periodSeconds"], 30);
    assert_eq!(live["failureThreshold"], 10);
    let cmd = command(live);
    assert_eq!(cmd[..2], ["sh", "-c"]);
    // The script connects to the loopback port from inside the container: it succeeds while a
    // listener is there and fails once it is gone (here through bash's /dev/tcp when nc is
    // missing; both are tried).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = cmd[2].replace("8428", &port.to_string());
    let ok = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    assert!(ok.success(), "{script}");
    drop(listener);
    let gone = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    assert!(!gone.success(), "{script}");
    let notes: Vec<&str> = out
        .report
        .messages
        .iter()
        .map(|m| m.message.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("needs sh plus curl or wget, and nc or bash")),
        "{notes:?}"
    );
}

#[test]
fn grpc_probe_on_a_loopback_port_is_named_not_guessed() {
    let input = deployment(
        "[--grpc-listen-address=127.0.0.1:9095]",
        "          livenessProbe:
            grpc: {port: 9095}
",
        "[]",
    );
    let out = run(&input, &[]);
    assert_eq!(out.stream, input.as_bytes(), "a gRPC probe was rewritten");
    let w: Vec<&str> = out
        .report
        .messages
        .iter()
        .filter(|m| m.level == helm_fixup::report::Level::Warning)
        .map(|m| m.message.as_str())
        .collect();
    assert!(
        w.iter()
            .any(|m| m.contains("gRPC probe of port 9095") && m.contains("example.com/app:1.0")),
        "{w:?}"
    );
}

/// opentelemetry-collector: the health check listens where its configuration file says, in a
/// ConfigMap the pod mounts; the chart's probes target that port.
const OTEL: &str = "---
apiVersion: v1
kind: ConfigMap
metadata:
  name: otel
  namespace: obs
data:
  relay: |
    extensions:
      health_check:
        endpoint: 127.0.0.1:13133
    exporters:
      otlp:
        endpoint: localhost:4317
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: otel
  namespace: obs
spec:
  template:
    spec:
      containers:
        - name: collector
          image: otel/opentelemetry-collector-contrib:0.120.0
          args: [--config=/conf/relay.yaml]
          livenessProbe:
            httpGet: {path: /, port: 13133}
          readinessProbe:
            httpGet: {path: /, port: 4317}
      volumes:
        - name: conf
          configMap: {name: otel}
";

#[test]
fn health_check_endpoint_set_in_a_mounted_config_file_is_a_loopback_listener() {
    let out = run(OTEL, &[]);
    let d = docs(&out.stream);
    let dep = d.iter().find(|v| v["kind"] == "Deployment").unwrap();
    let c = container(dep, "collector");
    let live = command(&c["livenessProbe"]);
    assert!(live[2].contains("http://127.0.0.1:13133/"), "{live:?}");
    // An exporter's endpoint is where it connects, not a listener: that probe stays.
    assert!(c["readinessProbe"].get("httpGet").is_some());
    let notes: Vec<&str> = out
        .report
        .messages
        .iter()
        .map(|m| m.message.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|m| m.contains("health_check endpoint in ConfigMap otel (relay)")),
        "{notes:?}"
    );
    // diagnose names it.
    let o = crate::support::Run::new()
        .args(["diagnose"])
        .stdin(OTEL)
        .run();
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    assert!(
        o.stdout_text().contains("Deployment obs/otel"),
        "{}",
        o.stdout_text()
    );
    assert!(o.stdout_text().contains("[loopback-probe]"));
}

#[test]
fn fluent_bit_http_listen_on_loopback_counts() {
    let input = OTEL
        .replace(
            "    extensions:\n      health_check:\n        endpoint: 127.0.0.1:13133\n    exporters:\n      otlp:\n        endpoint: localhost:4317\n",
            "    [SERVICE]\n        HTTP_Server On\n        HTTP_Listen 127.0.0.1\n        HTTP_Port   2020\n",
        )
        .replace("port: 13133", "port: 2020");
    let out = run(&input, &[]);
    let d = docs(&out.stream);
    let dep = d.iter().find(|v| v["kind"] == "Deployment").unwrap();
    let live = command(&container(dep, "collector")["livenessProbe"]);
    assert!(live[2].contains("http://127.0.0.1:2020/"), "{live:?}");
}
