"""Every single-user server on the course hub, students' and the instructor's."""

c = get_config()  # noqa: F821 - provided by traitlets

# Terminals: a plain (non-login) bash. `bash -l` runs /etc/profile, which resets PATH and
# hides the course's environment, so `lossgrade` would be "command not found".
c.ServerApp.terminado_settings = {"shell_command": ["/bin/bash"]}

# Nothing reaches the internet: no news feed, no update check, no extension installs. Those
# settings are JupyterLab's own, in jupyter_lab_config.py beside this file (a learner's local lab
# reads that file too, without the hub's settings here).

# Kernels talk over Unix sockets in the user's private runtime folder, not over TCP ports of
# 127.0.0.1 that every account shares: with 20 students starting kernels at once, two picked
# the same port ("Address already in use", seen by benchmarks/bench_hub.py).
c.KernelManager.transport = "ipc"
