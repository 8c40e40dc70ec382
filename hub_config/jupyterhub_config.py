# APhoS JupyterHub configuration for `jupyterhub -f hub_config/jupyterhub_config.py` in a
# checkout: the configuration itself ships in the package (aphos_lib/hub/jupyterhub_config.py),
# which also loads the site overrides in jupyterhub_config.d/ beside this file.
from aphos_lib.hub.settings import HUB_CONFIG

load_subconfig(str(HUB_CONFIG))  # noqa: F821 (provided by JupyterHub when it loads this file)
