"""The ``aphos search``, ``lightcurve``, ``variables`` and ``minima`` commands: reading the
catalogue.

Examples
--------
::

    aphos search --ra "21 41 55.3" --dec "+71 18 38.6" --radius 3arcmin --json
    aphos search --min-mag 10 --max-mag 11 --catalog UCAC4 --limit 20
    aphos lightcurve UCAC4:805-031770 UCAC4:803-032417 --format csv --metadata
    aphos lightcurve UCAC4:805-031770 UCAC4:803-032417 --aperture 3 --exclude-observer smith
    aphos lightcurve UCAC4:805-031770 --format json        # calibrated: no comparison star
    aphos variables --ra "21 41 55" --dec "+71 18 40" --radius 40arcmin --limit 10 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from aphos_lib.coordinates import AngleParseError
from aphos_lib.db.catalogue import Catalogue

__all__ = ["add_query_commands"]

SEARCH_FIELDS = ("catalog", "catalog_id", "name", "ra_deg", "dec_deg", "mag", "n_fluxes")
LIGHTCURVE_FIELDS = (
    "time_utc",
    "jd",
    "hjd",
    "bjd_tdb",
    "night",
    "observer",
    "magnitude",
    "deviation",
    "saturated",
)


def _json_value(value):
    """Plain JSON values: NaN and None as null, numpy scalars as Python numbers."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def cmd_search(args: argparse.Namespace) -> int:
    from aphos_lib.search import search_objects

    catalogue = Catalogue.from_environment()
    with catalogue.connect("reader", autocommit=True) as conn:
        result = search_objects(
            conn,
            ra=args.ra,
            dec=args.dec,
            radius=args.radius,
            name=args.name,
            min_mag=args.min_mag,
            max_mag=args.max_mag,
            catalog=args.catalog,
            catalog_id=args.id,
            limit=args.limit,
            offset=args.offset,
        )
    if args.json:
        for row in result.frame.itertuples(index=False):
            record = {f: _json_value(getattr(row, f)) for f in SEARCH_FIELDS}
            # The star and every catalogue's name of it ("UCAC4 805-031770", ...).
            record["star"] = _json_value(row.star)
            record["identifiers"] = list(row.identifiers)
            if "distance_deg" in result.frame:
                record["distance_deg"] = _json_value(row.distance_deg)
            print(json.dumps(record))
        return 0
    shown = result.frame[list(SEARCH_FIELDS) + [c for c in ("distance_deg",) if c in result.frame]]
    shown = shown.assign(identifiers=result.frame.identifiers.map(", ".join))
    if result.resolved is not None:
        print(f"no stored name matches; objects around {result.resolved}")
    print(shown.to_string(index=False) if len(shown) else "no objects match")
    first = result.offset + 1 if len(result) else 0
    print(f"objects {first}-{result.offset + len(result)} of {result.total}")
    return 0


def cmd_lightcurve(args: argparse.Namespace) -> int:
    from aphos_lib.calibrated_photometry import calibrated_photometry
    from aphos_lib.photometry import differential_photometry

    catalogue = Catalogue.from_environment()
    if args.comparison is None:
        if args.ensemble or args.check:
            raise ValueError("--ensemble and --check need a comparison star")
        with catalogue.connect("reader", autocommit=True) as conn:
            curve = calibrated_photometry(
                conn,
                args.variable,
                aperture=args.aperture,
                include_saturated=args.include_saturated,
                observers=args.observer or None,
                exclude_observers=args.exclude_observer,
                as_of=args.as_of,
            )
        return _write_curve(curve, args)
    comparison = [args.comparison, *args.ensemble] if args.ensemble else args.comparison
    with catalogue.connect("reader", autocommit=True) as conn:
        curve = differential_photometry(
            conn,
            args.variable,
            comparison,
            check=args.check,
            aperture=args.aperture,
            comparison_aperture=args.comparison_aperture,
            include_saturated=args.include_saturated,
            observers=args.observer or None,
            exclude_observers=args.exclude_observer,
            as_of=args.as_of,
        )
    return _write_curve(curve, args)


def _write_curve(curve, args: argparse.Namespace) -> int:
    """Print a light curve in the format asked for."""
    if args.format == "json":
        for row in curve.data.itertuples(index=False):
            record = {f: _json_value(getattr(row, f)) for f in LIGHTCURVE_FIELDS}
            record["time_utc"] = row.time_utc.isoformat()
            record["night"] = row.night.isoformat()
            print(json.dumps(record))
    elif args.format == "csv":
        sys.stdout.write(curve.to_csv(metadata=args.metadata))
    elif args.format == "txt":
        sys.stdout.write(curve.to_txt(metadata=args.metadata))
    else:
        if not args.obscode:
            raise ValueError("--format aavso needs --obscode (your AAVSO observer code)")
        sys.stdout.write(
            curve.to_aavso(
                obscode=args.obscode,
                observer=args.aavso_observer,
                standardised=args.standardised,
            )
        )
    return 0


MINIMA_FIELDS = (
    "bjd_tdb",
    "error_d",
    "type",
    "method",
    "n",
    "observer",
    "night",
    "filter",
    "cycle",
    "o_c_d",
    "check_time",
    "check_error_d",
)


def cmd_minima(args: argparse.Namespace) -> int:
    from aphos_lib.ephemeris import EphemerisError
    from aphos_lib.photometry import differential_photometry

    if args.epoch is not None and args.period is None:
        raise ValueError("--epoch needs --period (a period alone is a first guess for a fit)")
    catalogue = Catalogue.from_environment()
    comparison = [args.comparison, *args.ensemble] if args.ensemble else args.comparison
    with catalogue.connect("reader", autocommit=True) as conn:
        curve = differential_photometry(
            conn,
            args.variable,
            comparison,
            aperture=args.aperture,
            comparison_aperture=args.comparison_aperture,
            observers=args.observer or None,
            exclude_observers=args.exclude_observer,
            as_of=args.as_of,
        )
    try:
        timings = curve.o_c(args.epoch, args.period, quadratic=args.quadratic, maxima=args.maxima)
    except EphemerisError as exc:  # too few timings to fit: list them without O-C
        timings = curve.maxima() if args.maxima else curve.minima()
        print(f"aphos minima: no ephemeris: {exc}", file=sys.stderr)
    table = timings.table
    if args.format == "json":
        for record in table.to_dict("records"):
            record["bjd_tdb"] = record["time"]
            out = {f: _json_value(record.get(f)) for f in MINIMA_FIELDS}
            if out["night"] is not None:
                out["night"] = str(out["night"])
            print(json.dumps(out))
    elif args.format == "txt":
        sys.stdout.write(timings.to_txt())
    else:
        sys.stdout.write(timings.to_csv())
    if timings.ephemeris is not None:
        print(f"ephemeris: {timings.ephemeris}", file=sys.stderr)
    return 0


VARIABLES_FIELDS = (
    "rank",
    "star",
    "identifiers",
    "name",
    "ra_deg",
    "dec_deg",
    "filter",
    "mag",
    "n",
    "std",
    "expected_std",
    "excess",
    "chi2_dof",
    "robust_std",
    "eta",
    "stetson_j",
    "amplitude",
    "known_variable",
)


def cmd_variables(args: argparse.Namespace) -> int:
    from aphos_lib.variable_finder import find_variables

    catalogue = Catalogue.from_environment()
    with catalogue.connect("reader", autocommit=True) as conn:
        found = find_variables(
            conn,
            ra=args.ra,
            dec=args.dec,
            radius=args.radius,
            filter=args.filter,
            min_points=args.min_points,
        )
    if args.json:
        for record in found.records(args.limit):
            print(json.dumps({f: _json_value(record[f]) for f in VARIABLES_FIELDS}))
        return 0
    if not len(found):
        print(
            "no star in this field has enough points"
            + (f" in filter {args.filter}" if args.filter else "")
        )
        return 0
    shown = found.frame.head(args.limit)
    columns = ["rank", "label", "name", "mag", "n", "std", "expected_std", "excess",
               "chi2_dof", "eta", "stetson_j", "amplitude", "known_variable"]  # fmt: skip
    print(shown[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"{min(args.limit, len(found))} of {len(found)} stars with at least {args.min_points}"
        f" points in filter {found.filter or '(none)'}; the field's filters: "
        + ", ".join(f or "(none)" for f in found.filters)
    )
    return 0


def _query_errors(func):
    """Exit 1 with the message for a missing object or bad input, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        from aphos_lib.search import ObjectNotFound

        try:
            return func(args)
        except ObjectNotFound as exc:
            print(f"aphos {args.command}: {exc}", file=sys.stderr)
            return 1
        except (AngleParseError, ValueError) as exc:
            print(f"aphos {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def add_query_commands(sub) -> None:
    """Add ``search``, ``lightcurve``, ``variables`` and ``minima`` to the ``aphos``
    sub-command parser."""
    search = sub.add_parser("search", help="find catalogue objects")
    search.add_argument("--ra", help="cone centre RA: '21 41 55.3' (hours) or degrees")
    search.add_argument("--dec", help="cone centre Dec: '+71 18 38.6' or degrees")
    search.add_argument("--radius", help="cone radius: degrees, or '3arcmin', '20arcsec'")
    search.add_argument("--name", help="case-insensitive part of the object's name")
    search.add_argument("--min-mag", type=float)
    search.add_argument("--max-mag", type=float)
    search.add_argument("--catalog", help="catalogue, e.g. UCAC4")
    search.add_argument("--id", help="catalogue id, exact; end with * for a prefix")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--offset", type=int, default=0)
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.set_defaults(func=_query_errors(cmd_search))

    curve = sub.add_parser(
        "lightcurve", help="a star's magnitudes: calibrated, or against a comparison star"
    )
    curve.add_argument("variable", help="CATALOG:ID of the variable, e.g. UCAC4:805-031770")
    curve.add_argument(
        "comparison",
        nargs="?",
        help="CATALOG:ID of the comparison star; without one, calibrated magnitudes "
        "(each image's photometric solution)",
    )
    curve.add_argument(
        "--ensemble",
        action="append",
        default=[],
        metavar="CATALOG:ID",
        help="more comparison stars (fluxes summed with the first)",
    )
    curve.add_argument("--check", metavar="CATALOG:ID", help="a check star")
    curve.add_argument("--aperture", default="auto", help="variable's aperture: N or auto")
    curve.add_argument(
        "--comparison-aperture", default="auto", help="comparison's aperture: N or auto"
    )
    curve.add_argument(
        "--include-saturated",
        action="store_true",
        help="also list images with a saturated star (no magnitude)",
    )
    curve.add_argument(
        "--observer", action="append", default=[], metavar="NAME", help="keep only these observers"
    )
    curve.add_argument("--exclude-observer", action="append", default=[], metavar="NAME")
    curve.add_argument("--as-of", help="only data uploaded by this time (ISO 8601 with zone)")
    curve.add_argument("--format", choices=["csv", "txt", "json", "aavso"], default="csv")
    curve.add_argument(
        "--metadata", action="store_true", help="csv/txt: start with the stars, apertures and as_of"
    )
    curve.add_argument("--obscode", help="aavso: your AAVSO observer code")
    curve.add_argument(
        "--aavso-observer",
        metavar="NAME",
        help="aavso: whose images to report when several observers",
    )
    curve.add_argument(
        "--standardised",
        action="store_true",
        help="aavso: a differential curve standardised with the comparison's catalogue "
        "magnitude (MTYPE STD)",
    )
    curve.set_defaults(func=_query_errors(cmd_lightcurve))

    variables = sub.add_parser(
        "variables", help="a field's stars ranked by how much more than the noise they scatter"
    )
    variables.add_argument("--ra", required=True, help="field centre RA: '21 41 55.3' or degrees")
    variables.add_argument("--dec", required=True, help="field centre Dec: '+71 18 38.6'")
    variables.add_argument("--radius", required=True, help="degrees, or '20arcmin' (at most 2 deg)")
    variables.add_argument("--filter", help="the filter to rank in (default: the most observed)")
    variables.add_argument("--limit", type=int, default=20, help="how many stars to list")
    variables.add_argument(
        "--min-points", type=int, default=10, help="leave out stars with fewer points"
    )
    variables.add_argument("--json", action="store_true", help="one JSON object per line")
    variables.set_defaults(func=_query_errors(cmd_variables))

    minima = sub.add_parser(
        "minima", help="times of minimum (or maximum), night by night, with their O-C"
    )
    minima.add_argument("variable", help="CATALOG:ID of the variable")
    minima.add_argument("comparison", help="CATALOG:ID of the comparison star")
    minima.add_argument("--ensemble", action="append", default=[], metavar="CATALOG:ID")
    minima.add_argument("--aperture", default="auto")
    minima.add_argument("--comparison-aperture", default="auto")
    minima.add_argument("--observer", action="append", default=[], metavar="NAME")
    minima.add_argument("--exclude-observer", action="append", default=[], metavar="NAME")
    minima.add_argument("--as-of", help="only data uploaded by this time (ISO 8601 with zone)")
    minima.add_argument("--epoch", type=float, help="BJD_TDB of a primary minimum (or maximum)")
    minima.add_argument(
        "--period", type=float, help="days; with --epoch the ephemeris, alone a first guess"
    )
    minima.add_argument("--quadratic", action="store_true", help="fit a changing period")
    minima.add_argument("--maxima", action="store_true", help="maxima of a pulsating star")
    minima.add_argument("--format", choices=["csv", "txt", "json"], default="csv")
    minima.add_argument("--json", dest="format", action="store_const", const="json")
    minima.set_defaults(func=_query_errors(cmd_minima))
