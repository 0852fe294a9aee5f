"""JupyterLab that asks the internet for nothing: no news feed, no update check, no extension installs.

Every lab of the project reads this file: each server on the course hub (this folder is on its
JUPYTER_CONFIG_PATH) and a lab run from the project's own environment (`make setup` copies it and
labconfig/page_config.json, which turns off the plugin that asks whether to fetch news, into
.venv/etc/jupyter/).
"""

c = get_config()  # noqa: F821 - provided by traitlets

c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
