"""A course hub on this machine: ``python deploy/hub.py up`` and ``python deploy/hub.py down``.

``up`` (as root) creates an instructor account and ``--students`` student accounts (named
``<prefix>-teacher`` and ``<prefix>-s1`` ...; homes 0700), an environment every account can run
(a venv of the system's Python with this project installed, not editable), the nbgrader
exchange, the instructor's course (a copy of ``course/``, owned by the instructor, with ps01
released by the instructor's own account), and JupyterHub on 127.0.0.1 behind the pinned
configurable-http-proxy, with a shared password. It prints the address and the logins.

``--exchange`` (or ``EXCHANGE``) chooses nbgrader's exchange: ``folder`` (the default, a folder
every account writes to) or ``ngshare`` (no shared disk: the ngshare service, managed by the hub
and run as an account of its own from its own environment, pinned in
``deploy/ngshare/requirements.txt``; ngshare-exchange in the single-user environment; the course
created in ngshare with the instructor as its instructor and the students enrolled).

Everything lives under ``/opt/<prefix>-hub/`` (and the accounts' homes); its ``hub.json`` names
the accounts and processes, so ``down`` removes exactly what ``up`` made, even after a crash.
Both are idempotent.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PROXY = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
SYSTEM_PYTHON = "/usr/bin/python3"  # a Python every account may run (not one under /root)
FIRST_ASSIGNMENT = "ps01_regression"
EXCHANGES = ("folder", "ngshare")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Hub:
    """One course hub: its accounts, folders, ports and processes."""

    prefix: str = "lossfn"
    students: int = 3
    port: int = 8000
    hub_port: int = 0
    proxy_api_port: int = 0
    password: str = ""
    pid: int | None = None
    environment: dict[str, str] = field(default_factory=dict)  # extra for every server
    exchange_kind: str = "folder"  # nbgrader's exchange: "folder" or "ngshare"
    ngshare_port: int = 0

    @property
    def base(self) -> Path:
        return Path(f"/opt/{self.prefix}-hub")

    @property
    def instructor(self) -> str:
        return f"{self.prefix}-teacher"

    @property
    def student_names(self) -> list[str]:
        return [f"{self.prefix}-s{i}" for i in range(1, self.students + 1)]

    @property
    def ngshare_account(self) -> str:
        return f"{self.prefix}-ngshare"

    @property
    def accounts(self) -> list[str]:
        service = [self.ngshare_account] if self.exchange_kind == "ngshare" else []
        return [self.instructor, *self.student_names, *service]

    @property
    def course_id(self) -> str:
        return self.environment.get("LOSSGRADE_COURSE_ID", "loss-functions")

    @property
    def env(self) -> Path:
        return self.base / "env"

    @property
    def exchange(self) -> Path:
        return self.base / "exchange"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ngshare_env(self) -> Path:
        return self.base / "ngshare-env"

    @property
    def ngshare_data(self) -> Path:
        """ngshare's database and files: its account's alone (0700)."""
        return self.base / "ngshare"

    @property
    def ngshare_url(self) -> str:
        """ngshare's API, through the hub's proxy (as on Zero to JupyterHub)."""
        return f"{self.url}/services/ngshare"

    def home(self, account: str) -> Path:
        return Path(pwd.getpwnam(account).pw_dir)

    # ---------------------------------------------------------------- state
    @property
    def state_file(self) -> Path:
        return self.base / "hub.json"

    def save(self) -> None:
        self.base.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(self), indent=1))
        self.state_file.chmod(0o600)  # it holds the password

    @classmethod
    def load(cls, prefix: str) -> Hub | None:
        path = Path(f"/opt/{prefix}-hub/hub.json")
        return cls(**json.loads(path.read_text())) if path.is_file() else None

    def running(self) -> bool:
        if self.pid is None:
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/hub/api", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    # ---------------------------------------------------------------- up
    def up(self) -> None:
        """Stand the hub up (or, when it is already up, just say where it is)."""
        need_root()
        if self.exchange_kind not in EXCHANGES:
            raise SystemExit(f"unknown exchange {self.exchange_kind!r}: choose one of {EXCHANGES}")
        if self.running():
            self.announce()
            return
        self.down(quiet=True)  # what a crashed run left
        self.hub_port, self.proxy_api_port = free_port(), free_port()
        self.ngshare_port = free_port() if self.exchange_kind == "ngshare" else 0
        self.password = secrets.token_urlsafe(12)
        self.save()  # first, so that `down` finds whatever the next steps make
        self.make_accounts()
        self.make_environment()
        self.make_folders()
        self.make_course()
        self.start()
        self.release_first()
        self.announce()

    def make_accounts(self) -> None:
        for name in self.accounts:
            try:
                pwd.getpwnam(name)
                raise SystemExit(f"an account {name} exists already; choose another --prefix")
            except KeyError:
                pass
            if name == self.ngshare_account:  # a service's account: no home, no login
                run(["useradd", "--system", "--user-group", "--no-create-home",
                     "--shell", "/usr/sbin/nologin", name])
                continue
            run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name])
            self.home(name).chmod(0o700)

    def make_environment(self) -> None:
        """A venv of the system's Python with the project (not editable) and JupyterHub."""
        log(f"building the shared environment in {self.env} (about a minute)")
        run([SYSTEM_PYTHON, "-m", "venv", str(self.env)])
        pip = [str(self.env / "bin" / "pip"), "install", "--quiet", "--no-warn-script-location"]
        run([*pip, "-c", str(ROOT / "constraints.txt"), f"{ROOT}[hub]"], cwd="/")
        if self.exchange_kind == "ngshare":
            # ngshare-exchange 0.5.3 asks for jupyter-core<4.11.2, which nbgrader 0.9 and
            # JupyterLab 4 cannot use; it runs with today's (the hub test shows it), so it is
            # installed without its dependencies, and its one other dependency by hand
            run([*pip, "--no-deps", "-c", str(ROOT / "constraints.txt"),
                 "ngshare-exchange", "rapidfuzz"], cwd="/")
            self.make_ngshare_environment()
        run(["chmod", "-R", "a+rX", str(self.env)])  # whatever root's umask was

    def make_ngshare_environment(self) -> None:
        """ngshare's own venv (SQLAlchemy 1.4), apart from the single-user environment."""
        log(f"building ngshare's environment in {self.ngshare_env}")
        run([SYSTEM_PYTHON, "-m", "venv", str(self.ngshare_env)])
        pip = [str(self.ngshare_env / "bin" / "pip"), "install", "--quiet",
               "--no-warn-script-location"]
        run([*pip, "-r", str(DEPLOY / "ngshare" / "requirements.txt")], cwd="/")
        shutil.copy(DEPLOY / "ngshare" / "serve.py", self.ngshare_env / "serve.py")
        run(["chmod", "-R", "a+rX", str(self.ngshare_env)])

    def make_folders(self) -> None:
        shutil.copytree(DEPLOY / "jupyter", self.base / "jupyter")
        if self.exchange_kind == "folder":
            self.exchange.mkdir()
            self.exchange.chmod(0o777)  # nbgrader's exchange: every account writes its own part
        else:
            self.ngshare_data.mkdir(mode=0o700)
            service = pwd.getpwnam(self.ngshare_account)
            os.chown(self.ngshare_data, service.pw_uid, service.pw_gid)
        (self.base / "state").mkdir(mode=0o700)

    @property
    def course(self) -> Path:
        return self.home(self.instructor) / "course"

    def make_course(self) -> None:
        """The instructor's copy of the course."""
        course = self.course
        course.mkdir()
        shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "course" / "source", course / "source")
        user = pwd.getpwnam(self.instructor)
        for path in [course, *course.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)

    def release_first(self) -> None:
        """ps01 released by the instructor's account (with ngshare: the course made first)."""
        extra = {}
        if self.exchange_kind == "ngshare":
            token, token_id = self.instructor_token()
            extra = {"JUPYTERHUB_API_TOKEN": token, "JUPYTERHUB_USER": self.instructor}
        try:
            if self.exchange_kind == "ngshare":
                self.make_ngshare_course(token)
            release = ["lossgrade", "release", FIRST_ASSIGNMENT, "--course", str(self.course)]
            self.as_user(self.instructor, release, extra=extra)
        finally:
            if extra:
                self.hub_request("DELETE", f"users/{self.instructor}/tokens/{token_id}", token=token)

    def hub_request(self, method: str, path: str, body: dict | None = None,
                    token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/hub/api/{path}", data=data,
                                         headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else {}

    def instructor_token(self) -> tuple[str, str]:
        """A short-lived hub token of the instructor (asked for with the instructor's password),
        which ngshare takes as the instructor's identity."""
        auth = {"username": self.instructor, "password": self.password}
        made = self.hub_request("POST", f"users/{self.instructor}/tokens", {
            "auth": auth, "expires_in": 900, "note": "make hub: course set-up",
            "scopes": ["read:users:name!user", "tokens!user"],  # tokens: to delete itself
        })
        return made["token"], made["id"]

    def make_ngshare_course(self, token: str) -> None:
        """The course in ngshare: the instructor as its instructor, the students enrolled."""
        api = self.ngshare_url
        students = [{"username": s, "first_name": "", "last_name": "", "email": ""}
                    for s in self.student_names]
        for path, form in (
            (f"course/{self.course_id}", {"instructors": json.dumps([self.instructor])}),
            (f"students/{self.course_id}", {"students": json.dumps(students)}),
        ):
            request = urllib.request.Request(
                f"{api}/{path}", data=urllib.parse.urlencode(form).encode(),
                headers={"Authorization": f"token {token}"}, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    answer = json.loads(r.read())
            except urllib.error.HTTPError as exc:
                answer = json.loads(exc.read() or b"{}")
                if exc.code == 409 and path.startswith("course/"):
                    continue  # made by an earlier run
            if not answer.get("success") or not all(
                s.get("success", True) for s in answer.get("status", [])
            ):
                raise SystemExit(f"ngshare: POST {path} failed: {answer}")

    def role_environment(self, role: str) -> dict[str, str]:
        """What the hub gives every server of ``role`` ("student" or "instructor")."""
        jupyter = self.base / "jupyter"
        return {
            "PATH": f"{self.env}/bin:/usr/local/bin:/usr/bin:/bin",
            **self.exchange_environment(),
            "OMP_NUM_THREADS": "1",
            "JUPYTER_CONFIG_PATH": f"{jupyter}/{role}{os.pathsep}{jupyter}/common",
            **self.environment,
        }

    def server_environment(self, account: str) -> dict[str, str]:
        """What ``account``'s server gets (for commands run as that account)."""
        role = "instructor" if account == self.instructor else "student"
        return {"HOME": str(self.home(account)), "USER": account, **self.role_environment(role)}

    def exchange_environment(self) -> dict[str, str]:
        """What tells nbgrader (deploy/jupyter/common/nbgrader_config.py) the exchange."""
        if self.exchange_kind == "ngshare":
            return {"LOSSGRADE_NGSHARE_URL": self.ngshare_url}
        return {"LOSSGRADE_EXCHANGE": str(self.exchange)}

    def as_user(self, account: str, cmd: list[str], extra: dict[str, str] | None = None,
                **kwargs) -> subprocess.CompletedProcess:
        """Run ``cmd`` as ``account``, in its home, with its server's environment (and
        ``extra``)."""
        wrapped = ["setpriv", f"--reuid={account}", f"--regid={account}", "--init-groups", "--"]
        env = {**self.server_environment(account), **(extra or {})}
        return run([*wrapped, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd],
                   cwd=env["HOME"], **kwargs)

    def settings(self) -> dict:
        return {
            "port": self.port,
            "hub_port": self.hub_port,
            "proxy_api_port": self.proxy_api_port,
            "proxy": str(PROXY),
            "password": self.password,
            "instructor": self.instructor,
            "students": self.student_names,
            "env": str(self.env),
            "servers": {role: self.role_environment(role) for role in ("student", "instructor")},
            "state": str(self.base / "state"),
            "ngshare": None if self.exchange_kind != "ngshare" else {
                "port": self.ngshare_port,
                "python": str(self.ngshare_env / "bin" / "python"),
                "serve": str(self.ngshare_env / "serve.py"),
                "account": self.ngshare_account,
                "data": str(self.ngshare_data),
            },
        }

    def start(self) -> None:
        if not PROXY.exists():
            raise SystemExit(f"{PROXY} is missing: run `npm ci --prefix deploy` (make hub does)")
        settings = self.base / "state" / "settings.json"
        settings.write_text(json.dumps(self.settings(), indent=1))
        settings.chmod(0o600)
        log_file = open(self.base / "state" / "jupyterhub.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [str(self.env / "bin" / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
            cwd=self.base / "state",
            env={
                "PATH": f"{self.env}/bin:{os.environ.get('PATH', '/usr/bin:/bin')}",
                "LOSSFN_HUB_SETTINGS": str(settings),
            },
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = proc.pid
        self.save()
        deadline = time.monotonic() + 120
        while not self.running():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.base / "state" / "jupyterhub.log").read_text()[-3000:]
                raise SystemExit(f"JupyterHub did not start:\n{tail}")
            time.sleep(0.5)

    def announce(self) -> None:
        print(f"course hub: {self.url}  (password for every account: {self.password})")
        print(f"  instructor: {self.instructor}   students: {', '.join(self.student_names)}")
        print(f"  stop it and remove the accounts: make hub-down HUB_PREFIX={self.prefix}")

    # ---------------------------------------------------------------- down
    def down(self, quiet: bool = False) -> None:
        """Stop every process of this hub and remove its accounts and folders."""
        need_root()
        hub = Hub.load(self.prefix)
        if hub is None:  # nothing of ours here (the state file is written before anything else)
            if not quiet:
                log(f"no course hub {self.prefix} on this machine")
            return
        if hub.pid is not None:
            stop_group(hub.pid)
        pid_file = hub.base / "state" / "proxy.pid"
        if pid_file.is_file():
            stop_group(int(pid_file.read_text().strip() or 0), group=False)
        for name in hub.accounts:
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            time.sleep(0.2)
            run(["userdel", "--remove", name], check=False)
        shutil.rmtree(hub.base, ignore_errors=True)
        if not quiet:
            log(f"removed the course hub {hub.prefix} (accounts, processes and {hub.base})")


def stop_group(pid: int, group: bool = True) -> None:
    """SIGTERM ``pid`` (and its process group), then SIGKILL what is left after 10 s."""
    if pid <= 0:
        return
    kill = os.killpg if group else os.kill
    try:
        kill(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    try:
        kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def need_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit("the course hub creates Linux accounts: run it as root (sudo make hub)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python deploy/hub.py", description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["up", "down"])
    p.add_argument("--prefix", default=os.environ.get("HUB_PREFIX") or "lossfn")
    p.add_argument("--students", type=int, default=int(os.environ.get("HUB_STUDENTS") or 3))
    p.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT") or 8000))
    p.add_argument("--exchange", choices=EXCHANGES, default=os.environ.get("EXCHANGE") or "folder",
                   help="nbgrader's exchange: a shared folder (default) or the ngshare service")
    args = p.parse_args(argv)
    hub = Hub.load(args.prefix) or Hub(args.prefix, args.students, args.port,
                                       exchange_kind=args.exchange)
    hub.up() if args.action == "up" else hub.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
