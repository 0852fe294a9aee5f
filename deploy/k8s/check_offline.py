"""What can be checked of deploy/k8s/ without a cluster, Docker or Helm:

    .venv/bin/python deploy/k8s/check_offline.py

* both values files parse, and every key in them is one of the charts' documented keys (the
  lists below, from Zero to JupyterHub 4.x's and ngshare's values.yaml);
* hub.extraConfig's Python compiles, and its pre_spawn_hook gives a student and an instructor
  the JUPYTER_CONFIG_PATH of folders that the image has (deploy/jupyter/<role>, common);
* user pods have no internet egress, storage is per user, memory and CPU are limited;
* every file the Dockerfiles copy exists, and the build context's ignore file lets it through;
* the pins the images rely on are there (torch, ngshare-exchange, SQLAlchemy 1.4, alembic 1.13);
* the common nbgrader config reads LOSSGRADE_NGSHARE_URL, which values.yaml sets.

It proves nothing about a running cluster: see README.md here.
"""

from __future__ import annotations

import fnmatch
import re
import sys
import types
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Zero to JupyterHub's documented keys used here (jupyterhub/values.yaml of the 4.x chart);
# a "*" stands for names the user chooses (services, extraConfig snippets, custom values).
Z2JH_KEYS = """
custom.*
hub.config.*
hub.services.*.url hub.services.*.apiToken
hub.networkPolicy.enabled hub.networkPolicy.ingress
hub.extraConfig.*
singleuser.image.name singleuser.image.tag singleuser.cmd singleuser.defaultUrl
singleuser.extraEnv.*
singleuser.storage.type singleuser.storage.capacity singleuser.storage.homeMountPath
singleuser.storage.dynamic.storageAccessModes
singleuser.memory.guarantee singleuser.memory.limit
singleuser.cpu.guarantee singleuser.cpu.limit
singleuser.networkPolicy.enabled singleuser.networkPolicy.egress
singleuser.networkPolicy.egressAllowRules.cloudMetadataServer
singleuser.networkPolicy.egressAllowRules.dnsPortsCloudMetadataServer
singleuser.networkPolicy.egressAllowRules.dnsPortsKubeSystemNamespace
singleuser.networkPolicy.egressAllowRules.dnsPortsPrivateIPs
singleuser.networkPolicy.egressAllowRules.nonPrivateIPs
singleuser.networkPolicy.egressAllowRules.privateIPs
proxy.https.enabled proxy.https.hosts proxy.https.letsencrypt.contactEmail
cull.enabled cull.timeout cull.every
""".split()

# ngshare's chart (helmchart/ngshare/values.yaml)
NGSHARE_KEYS = """
image.repository image.tag
ngshare.hub_api_token ngshare.admins ngshare.args
deployment.resources.*
pvc.storage
""".split()

problems: list[str] = []


def check(ok: bool, message: str) -> None:
    if not ok:
        problems.append(message)


def leaves(tree, prefix: str = ""):
    """Dotted paths of a values tree; lists and the free-form config dicts are leaves."""
    if isinstance(tree, dict) and tree:
        for key, value in tree.items():
            yield from leaves(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip(".")


def known(path: str, keys: list[str]) -> bool:
    return any(path == k or fnmatch.fnmatchcase(path, k) or
               (k.endswith(".*") and path.startswith(k[:-1])) for k in keys)


def get(tree: dict, path: str):
    for part in path.split("."):
        tree = tree[part]
    return tree


def check_values() -> dict:
    values = yaml.safe_load((HERE / "values.yaml").read_text())
    for path in leaves(values):
        check(known(path, Z2JH_KEYS), f"values.yaml: {path} is not a key this check knows")
    ngshare = yaml.safe_load((HERE / "ngshare-values.yaml").read_text())
    for path in leaves(ngshare):
        check(known(path, NGSHARE_KEYS), f"ngshare-values.yaml: {path} is not a key of ngshare's chart")

    rules = get(values, "singleuser.networkPolicy.egressAllowRules")
    check(get(values, "singleuser.networkPolicy.enabled") is True, "user pods' network policy is off")
    for rule in ("nonPrivateIPs", "privateIPs", "cloudMetadataServer"):
        check(rules[rule] is False, f"user pods may reach {rule}")
    check(get(values, "singleuser.storage.type") == "dynamic", "storage is not one claim per user")
    check(bool(get(values, "singleuser.memory.limit")) and bool(get(values, "singleuser.cpu.limit")),
          "no memory or CPU limit per user")
    check(get(values, "hub.config.JupyterHub.authenticator_class") not in ("dummy", "shared-password"),
          "the authenticator must be a real one")

    # the exchange: the hub's service, the servers' URL and ngshare's chart agree
    service = get(values, "hub.services.ngshare.url")
    check(get(values, "singleuser.extraEnv.LOSSGRADE_NGSHARE_URL") == f"{service}/services/ngshare",
          "LOSSGRADE_NGSHARE_URL is not the ngshare service's URL + /services/ngshare")
    instructors = get(values, "custom.course.instructors")
    check(set(instructors) <= set(get(values, "hub.config.Authenticator.allowed_users")),
          "an instructor is not in allowed_users")
    check(set(instructors) <= set(get(ngshare, "ngshare.admins")),
          "an instructor is not an ngshare admin (who creates the course)")
    return values


def check_extra_config(values: dict) -> None:
    """Run the extraConfig snippets with a stand-in for z2jh and a spawner per role."""
    instructor = get(values, "custom.course.instructors")[0]

    def get_config(key, default=None):
        try:
            return get(values, key)
        except KeyError:
            return default

    sys.modules["z2jh"] = types.SimpleNamespace(get_config=get_config)
    c = types.SimpleNamespace(KubeSpawner=types.SimpleNamespace())
    for name, code in get(values, "hub.extraConfig").items():
        exec(compile(code, f"hub.extraConfig.{name}", "exec"), {"c": c})
    hook = c.KubeSpawner.pre_spawn_hook
    for user, role in ((instructor, "instructor"), ("a-student", "student")):
        spawner = types.SimpleNamespace(user=types.SimpleNamespace(name=user),
                                        environment={"OTHER": "kept"})
        hook(spawner)
        check(spawner.environment.get("OTHER") == "kept", "the hook drops the spawner's environment")
        dirs = spawner.environment["JUPYTER_CONFIG_PATH"].split(":")
        check(dirs == [f"/opt/course/jupyter/{role}", "/opt/course/jupyter/common"],
              f"{role}: JUPYTER_CONFIG_PATH {dirs}")
        for d in dirs:
            local = ROOT / "deploy" / "jupyter" / Path(d).relative_to("/opt/course/jupyter")
            check(local.is_dir(), f"{d} comes from {local}, which does not exist")
        check((role == "instructor") == hasattr(spawner, "mem_limit"),
              f"{role}: the grading limits are for instructors only")


def copies(dockerfile: Path) -> list[str]:
    """The sources of every COPY in a Dockerfile."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            sources += parts[:-1]
    return sources


def check_images() -> None:
    dockerfile = HERE / "Dockerfile"
    ignore = [x.strip() for x in (HERE / "Dockerfile.dockerignore").read_text().splitlines()
              if x.strip() and not x.startswith("#")]
    allowed = [x[1:].rstrip("/") for x in ignore if x.startswith("!")]
    for source in copies(dockerfile):
        check((ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist")
        check(any(source == a or source.startswith(a + "/") for a in allowed),
              f"Dockerfile copies {source}, which Dockerfile.dockerignore leaves out")
    for source in copies(HERE / "ngshare" / "Dockerfile"):  # context: deploy/k8s/ngshare
        check((HERE / "ngshare" / source).exists(), f"ngshare/Dockerfile copies {source}: missing")

    constraints = (ROOT / "constraints.txt").read_text()
    for package in ("torch", "ngshare-exchange", "rapidfuzz", "jupyterhub", "nbgrader"):
        check(re.search(rf"^{package}==", constraints, re.M) is not None,
              f"constraints.txt pins no {package}, which the image installs at its pin")
    pins = (HERE / "ngshare" / "requirements.txt").read_text()
    for pin in (r"ngshare==0\.6\.0", r"SQLAlchemy==1\.4\.", r"alembic==1\.13\."):
        check(re.search(rf"^{pin}", pins, re.M) is not None, f"ngshare's image does not pin {pin}")

    common = (ROOT / "deploy" / "jupyter" / "common" / "nbgrader_config.py").read_text()
    check("LOSSGRADE_NGSHARE_URL" in common and "configureExchange" in common,
          "deploy/jupyter/common/nbgrader_config.py does not configure ngshare-exchange from "
          "LOSSGRADE_NGSHARE_URL")


def main() -> int:
    values = check_values()
    check_extra_config(values)
    check_images()
    for problem in problems:
        print(f"problem: {problem}")
    print("deploy/k8s: offline checks passed (untested on a cluster)" if not problems
          else f"deploy/k8s: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
