"""The platform around the catalogue: JupyterHub configuration, sign-in and the services.

- :mod:`~aphos_lib.hub.settings` reads the ``APHOS_*`` environment once;
- :mod:`~aphos_lib.hub.configurer` applies it to a traitlets ``Config``, one function per
  concern (``hub_config/jupyterhub_config.py`` only calls :func:`apply_config`);
- :mod:`~aphos_lib.hub.auth` signs observers in (Google, or a local demo login);
- :mod:`~aphos_lib.hub.worker` and the Voila dashboards (:mod:`~aphos_lib.hub.dashboards`)
  are hub-managed services, as is the web service of :mod:`aphos_lib.web`.

The hub imports :mod:`aphos_lib.web`, never the reverse.
"""
