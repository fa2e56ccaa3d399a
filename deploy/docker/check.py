"""The images' recipe and the compose file, checked without a container engine: what they
name exists, the variables they set are ones the binaries read, the images run as the
unprivileged user the chart expects, and the binaries, started with exactly the images'
and the compose file's environment, come up and pass the images' own health checks."""

import os
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import tomllib

import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from contract import (  # noqa: E402
    BINARIES, ROOT, Failures, dockerfile_stages, image_environment, image_setting,
    image_uid, known_environment,
)

TARGETS = {"control-plane": "togglerino-control-plane", "edge": "togglerino-edge"}
failures = Failures()
stages = dockerfile_stages()
workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
chart_values = yaml.safe_load((ROOT / "deploy/helm/togglerino/values.yaml").read_text())
compose = yaml.safe_load((ROOT / "deploy/docker/compose.yaml").read_text())

# Sources the build copies exist, and .dockerignore does not hide them.
ignored = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
for name, stage in stages.items():
    for keyword, rest in stage["instructions"]:
        if keyword == "COPY" and "--from" not in rest:
            *sources, _ = shlex.split(rest)
            for source in sources:
                failures.check((ROOT / source).exists(), f"stage {name} copies {source}, which is missing")
                failures.check(not any(source.rstrip("/").startswith(pattern.replace("**/", ""))
                                       for pattern in ignored),
                               f"stage {name} copies {source}, which .dockerignore leaves out")

# The toolchain is new enough for the workspace.
dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
rust = re.search(r"^ARG RUST_VERSION=(\S+)", dockerfile, re.M).group(1)
wanted = workspace["workspace"]["package"]["rust-version"]
failures.check(tuple(map(int, rust.split("."))) >= tuple(map(int, wanted.split("."))),
               f"the image builds with Rust {rust}, the workspace needs {wanted}")

# The build compiles the packages that own the binaries the runtime stages copy.
build = " ".join(rest for keyword, rest in stages["build"]["instructions"] if keyword == "RUN")
for target, binary in TARGETS.items():
    package = f"togglerino-{'edge-proxy' if target == 'edge' else target}"
    manifest = tomllib.loads((ROOT / package.removeprefix("togglerino-") / "Cargo.toml").read_text())
    failures.check(f"-p {package}" in build, f"the build does not compile {package}")
    failures.check(binary in [b["name"] for b in manifest.get("bin", [])],
                   f"{package} builds no binary {binary}")
    failures.check(f"target/release/{binary}" in build, f"the build does not keep {binary}")

    # The runtime image: its command, its health check, its user, its environment.
    failures.check(target in stages, f"the Dockerfile has no {target} target")
    entrypoint = image_setting(stages, target, "ENTRYPOINT")
    failures.check(entrypoint == f'["{binary}"]', f"{target} runs {entrypoint}, not {binary}")
    healthcheck = image_setting(stages, target, "HEALTHCHECK") or ""
    failures.check(f'CMD ["{binary}", "health"]' in healthcheck,
                   f"{target}'s health check is not `{binary} health`: {healthcheck}")
    uid = image_uid(stages, target)
    failures.check(uid not in (None, 0), f"{target} runs as root or a named user ({uid})")
    failures.check(uid == chart_values["podSecurityContext"]["runAsUser"],
                   f"{target} runs as {uid}, the chart as {chart_values['podSecurityContext']['runAsUser']}")
    unknown = set(image_environment(stages, target)) - known_environment(target)
    failures.check(not unknown, f"the {target} image sets variables its binary does not read: {unknown}")

cache = image_environment(stages, "edge").get("TOGGLERINO_CACHE_DIR")
failures.check(cache and f'VOLUME ["{cache}"]' in [f"VOLUME {rest}" for keyword, rest in
                                                   stages["edge"]["instructions"] if keyword == "VOLUME"],
               f"the edge's cache directory {cache} is not its volume")

# The compose file: its services build the Dockerfile's targets and set only what the
# binaries read.
services = compose["services"]
for name, service in services.items():
    target = (service.get("build") or {}).get("target")
    if target is None:
        continue
    failures.check(target in TARGETS, f"compose service {name} builds an unknown target {target}")
    unknown = set(service.get("environment", {})) - known_environment(target)
    failures.check(not unknown, f"compose service {name} sets variables its binary does not read: {unknown}")
    for volume in service.get("volumes", []):
        failures.check(volume.split(":")[1] == cache, f"compose service {name} mounts {volume}, not the cache")
edges = [name for name, service in services.items() if (service.get("build") or {}).get("target") == "edge"]
failures.check(len(edges) == 2, f"compose runs {len(edges)} edges, not two")
failures.check("postgres" in services and "control-plane" in services, "compose lacks PostgreSQL or the control plane")
failures.exit("Dockerfile and compose file")


# The binaries started as the images start them: the image's environment, the compose
# service's, and only the address, database and cache directory changed for this machine.
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(target, env):
    command = [str(BINARIES[target]), "health"]
    return subprocess.run(command, env=env, capture_output=True).returncode == 0


def wait_healthy(target, env, process):
    for _ in range(300):
        if healthy(target, env):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def resolve(value):
    return re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", lambda m: environment_values[m.group(1)], str(value))


environment_values = {"TOGGLERINO_EDGE_TOKEN": "compose-check-edge-token-0123456789", "POSTGRES_PASSWORD": "x"}
processes = []
with tempfile.TemporaryDirectory() as cache_dir:
    try:
        control_plane_port, edge_port = free_port(), free_port()
        cp_env = {**os.environ, **image_environment(stages, "control-plane"),
                  **{k: resolve(v) for k, v in services["control-plane"]["environment"].items()},
                  "DATABASE_URL": os.environ["TEST_DATABASE_URL"],
                  "TOGGLERINO_LISTEN": f"127.0.0.1:{control_plane_port}"}
        # The chart's migration Job runs the image with `migrate` before anything else.
        migrate = subprocess.run([str(BINARIES["control-plane"]), "migrate"], env=cp_env,
                                 capture_output=True, text=True)
        failures.check(migrate.returncode == 0, f"`migrate` failed: {migrate.stderr}")
        failures.check(not healthy("control-plane", cp_env), "health passed with no control plane running")
        processes.append(subprocess.Popen([str(BINARIES["control-plane"]), "serve"], env=cp_env,
                                          stderr=subprocess.DEVNULL))
        failures.check(wait_healthy("control-plane", cp_env, processes[-1]),
                       "the control plane, run as its image runs it, never passed its health check")
        edge_env = {**os.environ, **image_environment(stages, "edge"),
                    **{k: resolve(v) for k, v in services[edges[0]]["environment"].items()},
                    "TOGGLERINO_UPSTREAM_URL": f"http://127.0.0.1:{control_plane_port}",
                    "TOGGLERINO_LISTEN": f"127.0.0.1:{edge_port}",
                    "TOGGLERINO_CACHE_DIR": cache_dir}
        processes.append(subprocess.Popen([str(BINARIES["edge"])], env=edge_env, stderr=subprocess.DEVNULL))
        failures.check(wait_healthy("edge", edge_env, processes[-1]),
                       "the edge, run as its image runs it with compose's token, never passed its health check")
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
failures.exit("the binaries as the images and compose run them")
