"""APhoS: the Amateur Photometric Survey catalogue and analysis library.

The four names a notebook starts from:

- ``aphos_lib.connect()`` opens the archive read-only for analysis: search it, make light
  curves (:class:`aphos_lib.archive.Archive`);
- ``aphos_lib.read(path)`` reads a SIPS photometry export into its header and a frame
  (:func:`aphos_lib.io.read_photometry`);
- ``aphos_lib.upload(paths)`` sends SIPS files to be stored, from a workspace notebook
  (:func:`aphos_lib.uploads.client.upload`);
- ``aphos_lib.LightCurve``, what ``archive.lightcurve(...)`` returns
  (:class:`aphos_lib.lightcurve.LightCurve`).

Each is imported on first use, so ``import aphos_lib`` (and the CLI) stays light.

Examples
--------
>>> import aphos_lib
>>> sips = aphos_lib.read(b"ExposureBegin;2021-11-06T16:27:45.652\\n"
...                       b"ExposureEnd;2021-11-06T16:29:15.653\\n"
...                       b"Name;RA;Dec;ApAuto\\n;21 41 55.318;+71 18 38.60;1234.5\\n")
>>> sips.to_pandas()[["ra_deg", "ap_auto"]].round(4).values.tolist()
[[325.4805, 1234.5]]
>>> archive = aphos_lib.connect()                                  # doctest: +SKIP
>>> curve = archive.search(name="GK Cep")[0].lightcurve("UCAC4:803-032417")  # doctest: +SKIP
>>> curve.plot()                                                   # doctest: +SKIP
"""

__version__ = "0.1.0"
__all__ = ["LightCurve", "connect", "read", "upload"]


def __getattr__(name: str):
    # Imported on first use: pandas, psycopg and the rest load only when a notebook asks.
    if name == "connect":
        from aphos_lib.archive import connect

        return connect
    if name == "read":
        from aphos_lib.io import read_photometry

        return read_photometry
    if name == "upload":
        from aphos_lib.uploads.client import upload

        return upload
    if name == "LightCurve":
        from aphos_lib.lightcurve import LightCurve

        return LightCurve
    raise AttributeError(f"module 'aphos_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Tab completion offers the lazily imported names too.
    return sorted({*globals(), *__all__})
