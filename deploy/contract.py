"""What the images, the compose file and the chart rely on from the binaries and from
each other, read from the sources themselves so none of them can drift: the environment
variables each binary reads (from its --help), the Dockerfile's stages, and the user the
images run as."""

import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARIES = {
    "control-plane": ROOT / "target/debug/togglerino-control-plane",
    "edge": ROOT / "target/debug/togglerino-edge",
}
# The help pages that list every variable a binary reads, per command it runs.
HELP_PAGES = {
    "control-plane": [["serve", "--help"], ["migrate", "--help"], ["health", "--help"]],
    "edge": [["--help"], ["health", "--help"]],
}


class Failures:
    """Collects every broken promise, so one run reports them all."""

    def __init__(self):
        self.messages = []

    def check(self, condition, message):
        if not condition:
            self.messages.append(message)
        return condition

    def exit(self, what):
        if self.messages:
            print(f"{what}: {len(self.messages)} problem(s)")
            for message in self.messages:
                print(f"  - {message}")
            raise SystemExit(1)
        print(f"{what}: ok")


def help_text(component, args):
    return subprocess.run(
        [str(BINARIES[component]), *args], capture_output=True, text=True, check=True
    ).stdout


def known_environment(component, command=None):
    """The variables a binary reads: every `[env: NAME=` of its help pages (one command's
    page if named)."""
    pages = HELP_PAGES[component]
    if command is not None:
        pages = [page for page in pages if page[0] == command] or [["--help"]]
    names = set()
    for page in pages:
        names |= set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", help_text(component, page)))
    return names


def subcommands(component):
    text = help_text(component, ["--help"])
    commands = re.search(r"Commands:\n((?:  \S.*\n)+)", text)
    return {line.split()[0] for line in commands.group(1).splitlines()} if commands else set()


def dockerfile_stages(path=ROOT / "deploy/docker/Dockerfile"):
    """Stages by name: each its base and its instructions as (KEYWORD, text)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.match(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            current = {"base": match.group(1), "instructions": []}
            stages[match.group(2) or match.group(1)] = current
        elif current is not None:
            current["instructions"].append((keyword, rest.strip()))
    return stages


def stage_chain(stages, name):
    """A stage and the stages it is built on, base first."""
    chain = []
    while name in stages:
        chain.insert(0, stages[name])
        name = stages[name]["base"]
    return chain


def image_environment(stages, name):
    env = {}
    for stage in stage_chain(stages, name):
        for keyword, rest in stage["instructions"]:
            if keyword == "ENV":
                env.update(re.findall(r"(\w+)=(\S+)", rest))
    return env


def image_setting(stages, name, keyword):
    """The last value of an instruction (USER, ENTRYPOINT, ...) along a stage's chain."""
    value = None
    for stage in stage_chain(stages, name):
        for found, rest in stage["instructions"]:
            if found == keyword:
                value = rest
    return value


def image_uid(stages, name):
    user = image_setting(stages, name, "USER") or "0"
    return int(user.split(":")[0]) if user.split(":")[0].isdigit() else None
