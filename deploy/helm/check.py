"""The chart's rendered manifests, scenario by scenario, checked for what a cluster would
only reveal once pods misbehave: the commands and variables are ones the binaries know,
the pods run hardened as the images' user, probes and ports match the servers, edges
drain before they are killed, and the hooks run in the right order.

Usage: check.py RENDERED_DIR (one <scenario>.yaml per ci/ values file)."""

import pathlib
import re
import sys

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from contract import (  # noqa: E402
    ROOT, Failures, dockerfile_stages, image_environment, image_uid, known_environment,
    subcommands,
)

# The edge closes its streams this long after SIGTERM (shared/src/process.rs).
EDGE_DRAIN_SECONDS = int(re.search(
    r"SHUTDOWN_GRACE: Duration = Duration::from_secs\((\d+)\)",
    (ROOT / "shared/src/process.rs").read_text()).group(1))
HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True}

failures = Failures()
stages = dockerfile_stages()
control_plane_commands = subcommands("control-plane")


def component(resource):
    return resource["metadata"]["labels"].get("app.kubernetes.io/component")


def pod_checks(scenario, resource, pod):
    name = f"{scenario}: {resource['kind']} {resource['metadata']['name']}"
    security = pod.get("securityContext", {})
    failures.check(security.get("runAsNonRoot") is True, f"{name} may run as root")
    failures.check(security.get("seccompProfile", {}).get("type") == "RuntimeDefault",
                   f"{name} has no RuntimeDefault seccomp profile")
    failures.check(pod.get("automountServiceAccountToken") is False,
                   f"{name} mounts a service account token it never uses")
    for container in pod["containers"]:
        binary = "edge" if container["name"] == "edge" else "control-plane"
        where = f"{name}, container {container['name']}"
        failures.check(security.get("runAsUser") == image_uid(stages, binary),
                       f"{where} runs as {security.get('runAsUser')}, its image's user is "
                       f"{image_uid(stages, binary)}")
        context = container.get("securityContext", {})
        failures.check(all(context.get(k) == v for k, v in HARDENED.items())
                       and context.get("capabilities", {}).get("drop") == ["ALL"],
                       f"{where} is not hardened: {context}")
        command = (container.get("args") or [None])[0]
        if binary == "control-plane":
            failures.check(command in control_plane_commands,
                           f"{where} runs `{command}`, not a control plane command")
        names = {env["name"] for env in container.get("env", [])}
        unknown = names - known_environment(binary, command)
        failures.check(not unknown, f"{where} sets variables its binary does not read: {unknown}")
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if "ports" in container:
            port = container["ports"][0]["containerPort"]
            failures.check(env.get("TOGGLERINO_LISTEN") == f"0.0.0.0:{port}",
                           f"{where} listens on {env.get('TOGGLERINO_LISTEN')}, its port is {port}")
            failures.check(container["readinessProbe"]["httpGet"]["path"] == "/readyz"
                           and container["livenessProbe"]["httpGet"]["path"] == "/healthz",
                           f"{where} probes the wrong paths")
        if binary == "edge":
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            failures.check(env.get("TOGGLERINO_CACHE_DIR") in mounts
                           and env.get("TOGGLERINO_CACHE_DIR") == image_environment(stages, "edge")["TOGGLERINO_CACHE_DIR"],
                           f"{where}: the cache directory is not a writable volume")
            sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            failures.check(sleep + EDGE_DRAIN_SECONDS < pod["terminationGracePeriodSeconds"],
                           f"{where}: preStop {sleep} s + drain {EDGE_DRAIN_SECONDS} s do not fit in "
                           f"the {pod['terminationGracePeriodSeconds']} s grace period")


def secret_keys(resources):
    return {key for r in resources if r["kind"] == "Secret" for key in r.get("data", {})}


for rendered in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    scenario = rendered.stem
    values = yaml.safe_load((ROOT / f"deploy/helm/togglerino/ci/{scenario}.yaml").read_text())
    resources = [r for r in yaml.safe_load_all(rendered.read_text()) if r]
    kinds = {(r["kind"], component(r)) for r in resources}
    for wanted in [("Deployment", "control-plane"), ("Service", "control-plane"),
                   ("Deployment", "edge"), ("Service", "edge"), ("PodDisruptionBudget", "edge")]:
        failures.check(wanted in kinds, f"{scenario}: no {wanted[0]} for the {wanted[1]}")
    for resource in resources:
        spec = resource.get("spec", {})
        if resource["kind"] in ("Deployment", "Job"):
            pod_checks(scenario, resource, spec["template"]["spec"])
            # Every key a pod reads from the chart's own Secret is written there.
            if not values.get("existingSecret"):
                for container in spec["template"]["spec"]["containers"]:
                    for env in container.get("env", []):
                        ref = env.get("valueFrom", {}).get("secretKeyRef")
                        if ref and not ref.get("optional"):
                            failures.check(ref["key"] in secret_keys(resources),
                                           f"{scenario}: {env['name']} reads {ref['key']}, "
                                           "which the chart's Secret lacks")
    by_kind = {}
    for resource in resources:
        by_kind.setdefault((resource["kind"], component(resource)), []).append(resource)
    edge = by_kind[("Deployment", "edge")][0]
    edge_env = {e["name"]: e.get("value") for e in edge["spec"]["template"]["spec"]["containers"][0]["env"]}
    control_plane_service = by_kind[("Service", "control-plane")][0]
    expected_upstream = values.get("edge", {}).get("upstreamUrl") or (
        f"http://{control_plane_service['metadata']['name']}:{control_plane_service['spec']['ports'][0]['port']}")
    failures.check(edge_env["TOGGLERINO_UPSTREAM_URL"] == expected_upstream,
                   f"{scenario}: edges follow {edge_env['TOGGLERINO_UPSTREAM_URL']}, not {expected_upstream}")

    # Migrations run as hooks, after the Secret they read exists.
    job = by_kind.get(("Job", "migrate"), [None])[0]
    failures.check(job is not None, f"{scenario}: no migration Job")
    if job:
        annotations = job["metadata"]["annotations"]
        failures.check(annotations["helm.sh/hook"] == "pre-install,pre-upgrade",
                       f"{scenario}: migrations do not run before install and upgrade")
        for secret in (r for r in resources if r["kind"] == "Secret"):
            failures.check(int(secret["metadata"]["annotations"]["helm.sh/hook-weight"])
                           < int(annotations["helm.sh/hook-weight"]),
                           f"{scenario}: the Secret is not created before the migration Job")

    autoscaling = values.get("edge", {}).get("autoscaling", {})
    hpa = by_kind.get(("HorizontalPodAutoscaler", "edge"))
    failures.check(bool(hpa) == bool(autoscaling.get("enabled")), f"{scenario}: HPA present is {bool(hpa)}")
    failures.check(("replicas" in edge["spec"]) != bool(hpa),
                   f"{scenario}: the edge Deployment fixes replicas while an HPA scales it")
    if hpa:
        metrics = {m["type"]: m for m in hpa[0]["spec"]["metrics"]}
        failures.check(metrics["Resource"]["resource"]["name"] == "cpu", f"{scenario}: the HPA ignores CPU")
        if autoscaling.get("streams", {}).get("enabled"):
            failures.check(metrics["Pods"]["pods"]["metric"]["name"] == "togglerino_edge_sse_clients",
                           f"{scenario}: the HPA's stream metric is not the edge's")
    for monitor in (r for r in resources if r["kind"] == "ServiceMonitor"):
        endpoint = monitor["spec"]["endpoints"][0]
        target = by_kind[("Service", component(monitor))][0]
        failures.check(monitor["spec"]["selector"]["matchLabels"] == target["spec"]["selector"]
                       and endpoint["port"] == target["spec"]["ports"][0]["name"]
                       and endpoint["path"] == "/metrics",
                       f"{scenario}: ServiceMonitor {monitor['metadata']['name']} misses its Service")
    for ingress in (r for r in resources if r["kind"] == "Ingress"):
        service = by_kind[("Service", component(ingress))][0]
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                failures.check(backend["name"] == service["metadata"]["name"]
                               and backend["port"]["number"] == service["spec"]["ports"][0]["port"],
                               f"{scenario}: Ingress {ingress['metadata']['name']} misses its Service")

failures.exit("chart manifests")
