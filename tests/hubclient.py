"""A person on the course hub, driven the way a browser drives it: the login form, the hub's
REST API, the single-user server's HTTP API, and its kernel and terminal websockets."""

from __future__ import annotations

import json
import re
import time
import uuid

import requests
import websocket


class HubUser:
    def __init__(self, url: str, name: str, password: str):
        self.url, self.name, self.password = url, name, password
        self.http = requests.Session()

    # ---------------------------------------------------------------- hub
    def _xsrf(self, path: str) -> str:
        """The ``_xsrf`` cookie set for ``path`` (the hub and each server have their own)."""
        for cookie in self.http.cookies:
            if cookie.name == "_xsrf" and cookie.path.rstrip("/") == path.rstrip("/"):
                return cookie.value
        raise LookupError(f"no _xsrf cookie for {path}")

    def login(self) -> requests.Response:
        """Fill in and send the login form."""
        self.http.get(f"{self.url}/hub/login")
        form = {"username": self.name, "password": self.password, "_xsrf": self._xsrf("/hub/")}
        return self.http.post(f"{self.url}/hub/login", data=form)

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-XSRFToken": self._xsrf("/hub/")}
        return self.http.request(method, f"{self.url}/hub/api/{path}", headers=headers, **kwargs)

    def start(self, timeout: float = 180) -> None:
        """Start this user's server (if it is not running) and wait until it answers."""
        r = self.hub_api("POST", f"users/{self.name}/server")
        assert r.status_code in (201, 202, 400), r.text  # 400: already running
        deadline = time.monotonic() + timeout
        while not self.hub_api("GET", f"users/{self.name}").json()["servers"].get("", {}).get(
            "ready"
        ):
            assert time.monotonic() < deadline, f"{self.name}'s server did not start"
            time.sleep(0.5)
        self.http.get(f"{self.base}/lab")  # the OAuth round trip that sets the server's cookie

    # ---------------------------------------------------------------- server
    @property
    def base(self) -> str:
        return f"{self.url}/user/{self.name}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A request to this user's server (``path`` relative to ``/user/<name>/``)."""
        headers = {"X-XSRFToken": self._xsrf(f"/user/{self.name}/")}
        return self.http.request(method, f"{self.base}/{path}", headers=headers, **kwargs)

    def _socket(self, path: str) -> websocket.WebSocket:
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies
                            if c.path == "/" or f"/user/{self.name}".startswith(c.path.rstrip("/")))
        ws_url = self.base.replace("http://", "ws://") + f"/{path}"
        xsrf = self._xsrf(f"/user/{self.name}/")
        return websocket.create_connection(
            f"{ws_url}?_xsrf={xsrf}", cookie=cookies, header={"X-XSRFToken": xsrf}, timeout=120
        )

    def execute(self, code: str, timeout: float = 300) -> str:
        """Run ``code`` in a new kernel; its printed output (raises on an error)."""
        kernel = self.api("POST", "api/kernels", json={"name": "python3"}).json()["id"]
        ws = self._socket(f"api/kernels/{kernel}/channels")
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": self.name,
                           "session": uuid.uuid4().hex, "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False},
            }))
            out, deadline = [], time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    raise RuntimeError("\n".join(content["traceback"])[-3000:])
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(out)
            raise TimeoutError(f"{self.name}: the kernel did not finish in {timeout} s")
        finally:
            ws.close()
            self.api("DELETE", f"api/kernels/{kernel}")

    def terminal(self, command: str, timeout: float = 600) -> tuple[str, int]:
        """Type ``command`` into a new terminal; what the terminal showed and the exit code."""
        name = self.api("POST", "api/terminals").json()["name"]
        ws = self._socket(f"terminals/websocket/{name}")
        marker = uuid.uuid4().hex
        try:
            ws.send(json.dumps(["stdin", f"{command}; echo {marker}-$?\r"]))
            out, deadline = "", time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg[0] == "stdout":
                    out += msg[1]
                    found = re.search(rf"{marker}-(\d+)", out)
                    if found:
                        return out[: found.start()], int(found[1])
            raise TimeoutError(f"{self.name}: {command!r} did not finish in {timeout} s")
        finally:
            ws.close()
            self.api("DELETE", f"api/terminals/{name}")
