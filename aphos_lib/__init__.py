"""APhoS: the Amateur Photometric Survey catalogue and analysis library.

``aphos_lib.connect()`` opens the archive read-only for analysis (see
:mod:`aphos_lib.archive`); ``aphos_lib.upload(paths)`` sends SIPS files to be stored, from a
workspace notebook (see :mod:`aphos_lib.uploads.client`).
"""

__version__ = "0.1.0"
__all__ = ["connect", "upload"]


def __getattr__(name: str):
    # Imported on first use so that `import aphos_lib` (and the CLI) stays light.
    if name == "connect":
        from aphos_lib.archive import connect

        return connect
    if name == "upload":
        from aphos_lib.uploads.client import upload

        return upload
    raise AttributeError(f"module 'aphos_lib' has no attribute {name!r}")
