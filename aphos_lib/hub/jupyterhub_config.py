# APhoS JupyterHub configuration, shipped in the package so that an installed platform runs
# from anywhere (aphos_lib.hub.run starts `jupyterhub -f` on this file). Thin on purpose: every
# concern lives in aphos_lib/hub/configurer.py (tested on a plain Config); settings come from
# APHOS_* environment variables (README, Settings; docs/platform.md); secrets never live here.
# Site overrides: every *.py in HubSettings.overrides_dir (APHOS_HUB_OVERRIDES; in a checkout
# hub_config/jupyterhub_config.d/), loaded in name order after APhoS's configuration.
from aphos_lib.hub.configurer import apply_config, prepare_directories
from aphos_lib.hub.settings import HubSettings

settings = HubSettings.from_environment()
prepare_directories(settings)
c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)
apply_config(c, settings)

if settings.overrides_dir is not None and settings.overrides_dir.is_dir():
    for override in sorted(settings.overrides_dir.glob("*.py")):
        load_subconfig(str(override))  # noqa: F821
