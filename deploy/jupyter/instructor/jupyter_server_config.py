"""The instructor's server: formgrader, create-assignment and the course list stay on.

JupyterHub forbids framing its pages (`frame-ancestors 'none'`); formgrader opens in a frame of
the instructor's own lab, so this server allows framing by itself.
"""

c = get_config()  # noqa: F821 - provided by traitlets

c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}
