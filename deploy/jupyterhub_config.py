"""JupyterHub configuration of the course hub that ``deploy/hub.py up`` starts.

Everything that varies per hub (ports, accounts, the shared password, folders) comes from the
settings file named by ``LOSSFN_HUB_SETTINGS``, written by ``hub.py``. One Linux account per
person (LocalProcessSpawner), so nbgrader's exchange knows each student by their Unix user.

With the ngshare exchange, ngshare runs as a service the hub manages (as its own account, from its
own environment, on 127.0.0.1): it knows each person by their hub login (the token of their
server), so nobody can hand in as someone else.
"""

import json
import os

c = get_config()  # noqa: F821 - provided by traitlets

with open(os.environ["LOSSFN_HUB_SETTINGS"]) as f:
    hub = json.load(f)

c.JupyterHub.bind_url = f"http://127.0.0.1:{hub['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub["hub_port"]
c.JupyterHub.db_url = f"sqlite:///{hub['state']}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{hub['state']}/jupyterhub_cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.ConfigurableHTTPProxy.command = [hub["proxy"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['proxy_api_port']}"
c.ConfigurableHTTPProxy.pid_file = f"{hub['state']}/proxy.pid"

# works offline: one shared password for every account of this course
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = hub["password"]
c.Authenticator.allowed_users = {hub["instructor"], *hub["students"]}

c.Spawner.cmd = [f"{hub['env']}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180


def per_role(spawner):
    """Students and the instructor get different JupyterLab and server settings (the
    environment of each role is computed by hub.py)."""
    role = "instructor" if spawner.user.name == hub["instructor"] else "student"
    spawner.environment.update(hub["servers"][role])


c.Spawner.pre_spawn_hook = per_role

ngshare = hub.get("ngshare")
if ngshare:
    data = ngshare["data"]
    c.JupyterHub.services = [
        {
            "name": "ngshare",
            "url": f"http://127.0.0.1:{ngshare['port']}",
            "user": ngshare["account"],
            "cwd": data,
            "command": [
                ngshare["python"],
                ngshare["serve"],
                "--admins", hub["instructor"],
                "--database", f"sqlite:///{data}/ngshare.db",
                "--storage", f"{data}/files/",
            ],
        }
    ]
