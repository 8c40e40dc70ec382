# APhoS JupyterHub configuration: thin on purpose. Every concern lives in
# aphos_lib/hub/configurer.py (tested on a plain Config); settings come from APHOS_*
# environment variables (README, Settings; docs/platform.md); secrets never live in this repository.
# Site overrides: any *.py in jupyterhub_config.d/ beside this file, loaded in name order.
from pathlib import Path

from aphos_lib.hub.configurer import apply_config, prepare_directories
from aphos_lib.hub.settings import HubSettings

settings = HubSettings.from_environment()
prepare_directories(settings)
c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)
apply_config(c, settings)

for override in sorted((Path(__file__).parent / "jupyterhub_config.d").glob("*.py")):
    load_subconfig(str(override))  # noqa: F821
