"""The ``aphos`` command: database, ingest, demo data and statistics.

Examples
--------
::

    aphos db start                 # start the embedded catalogue (and migrate it)
    aphos ingest --observer novak --json night/*.csv
    aphos demo-data --out /tmp/demo --images 50
    aphos stats --json
    aphos search --ra "21 41 55.3" --dec "+71 18 38.6" --radius 3arcmin --json
    aphos lightcurve UCAC4:805-031770 UCAC4:803-032417 --format csv --metadata
    aphos identify UCAC4:805-031770 --json   # the star, all its identifiers, why linked
    aphos stars relink             # forget every link and link every object again
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aphos_lib.cli_queries import add_query_commands
from aphos_lib.db.catalogue import ROLE_NAMES, Catalogue
from aphos_lib.settings import Settings, aphos_home

__all__ = ["main"]


def _external() -> bool:
    return bool(Settings.from_environment().database_url)


def _print_status(status) -> None:
    if status.running:
        print(
            f"embedded PostgreSQL {status.version} running: pid {status.pid}, "
            f"port {status.port} on 127.0.0.1, socket in {status.socket_dir}, "
            f"data in {status.data_dir}"
        )
    else:
        print(f"embedded PostgreSQL not running (data in {status.data_dir})")


def cmd_db(args: argparse.Namespace) -> int:
    from aphos_lib.db.embedded import EmbeddedPostgres
    from aphos_lib.db.migrate import current_revision, upgrade

    if args.action == "url":
        catalogue = Catalogue.from_environment(start=False)
        print(catalogue.conninfo(args.role))
        return 0
    if args.action == "upgrade":
        catalogue = Catalogue.from_environment(start=True)
        print(f"schema at revision {upgrade(catalogue)}")
        return 0
    if _external():
        if args.action in ("start", "stop"):
            print(
                f"APHOS_DATABASE_URL names an external database: nothing embedded to {args.action}"
            )
            return 0
        catalogue = Catalogue.from_environment(start=False)
        print(f"external database, schema at revision {current_revision(catalogue)}")
        return 0
    server = EmbeddedPostgres(aphos_home())
    if args.action == "start":
        catalogue = Catalogue.embedded(start=True)
        _print_status(server.status())
        print(f"schema at revision {current_revision(catalogue)}")
        return 0
    if args.action == "stop":
        server.stop()
        print("embedded PostgreSQL stopped")
        return 0
    status = server.status()
    _print_status(status)
    return 0 if status.running else 3


# The rejected rows and the warnings printed of each file; --json gives the first 1,000.
_PRINTED = 20


def _print_outcome(outcome) -> None:
    if outcome.status == "stored":
        print(
            f"{outcome.file}: stored {outcome.fluxes} fluxes ({outcome.matched} matched, "
            f"{outcome.unmatched} unmatched"
            + (f": {outcome.new_sources} new APhoS sources" if outcome.new_sources else "")
            + ")"
            + (f", {outcome.rejected_count} rows rejected" if outcome.rejected_count else "")
        )
    elif outcome.status == "duplicate":
        print(f"{outcome.file}: duplicate, already stored; nothing new")
    else:
        print(f"{outcome.file}: rejected: {outcome.error}")
    for row in outcome.rejected_rows[:_PRINTED]:
        print(f"  {outcome.file}: line {row.line}: {row.reason}")
    if outcome.rejected_count > _PRINTED:
        print(f"  {outcome.file}: ... and {outcome.rejected_count - _PRINTED} more rows rejected")
    for warning in outcome.warnings[:_PRINTED]:
        print(f"  {outcome.file}: warning: {warning}")
    if outcome.warning_count > _PRINTED:
        print(f"  {outcome.file}: ... and {outcome.warning_count - _PRINTED} more warnings")


def cmd_ingest(args: argparse.Namespace) -> int:
    from aphos_lib.ingest import ingest_files
    from aphos_lib.observers import InvalidUsername, validate_username

    try:
        validate_username(args.observer)
    except InvalidUsername as exc:
        print(f"aphos ingest: {exc}", file=sys.stderr)
        return 2
    catalogue = Catalogue.from_environment()
    outcomes = ingest_files(catalogue, args.files, observer=args.observer)
    for outcome in outcomes:
        if args.json:
            print(json.dumps(outcome.to_json()), flush=True)
        else:
            _print_outcome(outcome)
    return 0 if all(o.ok for o in outcomes) else 1


def cmd_demo_data(args: argparse.Namespace) -> int:
    from aphos_lib.demo import generate_demo_data

    manifest = generate_demo_data(
        Path(args.out),
        seed=args.seed,
        images=_demo_images(args),
        field_stars=args.field_stars,
        campaign=args.campaign,
        injected=args.inject,
    )
    rows = sum(f.rows for f in manifest.files)
    print(
        f"wrote {len(manifest.files)} SIPS files ({rows} rows) by {len(manifest.observers)} "
        f"observers to {args.out}"
    )
    return 0


def _demo_images(args: argparse.Namespace) -> int:
    """The images asked for, else a survey's 300 or a timing campaign's 1,200."""
    if args.images is not None:
        return args.images
    return 1200 if args.campaign else 300


def cmd_stats(args: argparse.Namespace) -> int:
    from aphos_lib.stats import catalogue_stats

    catalogue = Catalogue.from_environment()
    with catalogue.connect("reader") as conn:
        stats = catalogue_stats(conn)
    if args.json:
        print(json.dumps(stats))
    else:
        print(", ".join(f"{v} {k}" for k, v in stats.items()))
    return 0


def cmd_identify(args: argparse.Namespace) -> int:
    from aphos_lib.cross_identification import identify
    from aphos_lib.search import parse_object_ref

    try:
        catalog, catalog_id = parse_object_ref(args.object)
    except ValueError as exc:
        print(f"aphos: {exc}", file=sys.stderr)
        return 2
    catalogue = Catalogue.from_environment()
    with catalogue.connect("reader") as conn:
        found = identify(conn, catalog, catalog_id)
    if found is None:
        print(f"aphos: no object {args.object} in the catalogue", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found))
        return 0
    print(
        f"star {found['star']} at {found['ra_deg']:.6f} {found['dec_deg']:+.6f}"
        f" ({found['name'] or 'no name'}), {found['n_fluxes']} fluxes"
    )
    for m in found["members"]:
        link = m["link"]
        why = link["reason"] or "not linked yet"
        if link["linked_to"]:
            why += f' with {link["linked_to"]}: {link["separation_arcsec"]:.2f}"'
            if link["mag_diff"] is not None:
                why += f", {link['mag_diff']:.2f} mag apart"
        print(f"  {m['catalog']} {m['catalog_id']}: {why}")
    return 0


def cmd_stars(args: argparse.Namespace) -> int:
    from aphos_lib.cross_identification import relink_all

    catalogue = Catalogue.from_environment()
    with catalogue.connect("writer") as conn, conn.transaction():
        stars = relink_all(conn)
    print(f"linked every catalogue object again: {stars} stars")
    return 0


CAMPAIGN_HELP = (
    "a timing campaign instead of a season's survey: about 40 images a night through three "
    "autumns, nights planned around GK Cep's minima (the survey's 5 a night time none)"
)
PLATFORM_MISSING = (
    "aphos demo runs the platform (the hub, the api, the worker and the dashboards), which "
    "`pip install aphos` leaves out: pip install 'aphos[platform]'. "
    "`aphos demo --no-hub` loads the demo data without it."
)


def cmd_demo(args: argparse.Namespace) -> int:
    # Said before the database starts and the data loads, not by a missing command after.
    if not args.no_hub and importlib.util.find_spec("jupyterhub") is None:
        print(f"aphos: {PLATFORM_MISSING}", file=sys.stderr)
        return 2
    from aphos_lib.hub.run import demo

    return demo(
        seed=args.seed, images=_demo_images(args), hub=not args.no_hub, campaign=args.campaign
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aphos", description="APhoS: the Amateur Photometric Survey catalogue."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the catalogue database")
    db.add_argument("action", choices=["start", "stop", "status", "url", "upgrade"])
    db.add_argument(
        "--role",
        choices=list(ROLE_NAMES),
        default="owner",
        help="whose connection URL 'url' prints (default owner)",
    )
    db.set_defaults(func=cmd_db)

    ingest = sub.add_parser("ingest", help="store SIPS files")
    ingest.add_argument("--observer", required=True, help="the observer's username")
    ingest.add_argument("--json", action="store_true", help="one JSON object per file")
    ingest.add_argument("files", nargs="+", help="SIPS CSV files")
    ingest.set_defaults(func=cmd_ingest)

    demo_data = sub.add_parser("demo-data", help="write demo SIPS files")
    demo_data.add_argument("--out", required=True, help="directory to write to")
    demo_data.add_argument("--seed", type=int, default=1)
    demo_data.add_argument("--images", type=int, help="default 300 (1,200 with --campaign)")
    demo_data.add_argument("--campaign", action="store_true", help=CAMPAIGN_HELP)
    demo_data.add_argument(
        "--field-stars",
        type=int,
        default=None,
        metavar="N",
        help="fill each field up to N catalogue stars with faint ones "
        "(2500 gives images of thousands of rows, like a real SIPS export)",
    )
    demo_data.add_argument(
        "--inject",
        type=int,
        default=0,
        metavar="N",
        help="make N ordinary stars of each field variable (listed in the manifest as "
        "'injected'), to try the variable finder",
    )
    demo_data.set_defaults(func=cmd_demo_data)

    stats = sub.add_parser("stats", help="what the catalogue holds")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)

    demo = sub.add_parser(
        "demo", help="start the catalogue, load the demo data once, run the hub in the foreground"
    )
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--images", type=int, help="default 300 (1,200 with --campaign)")
    demo.add_argument("--campaign", action="store_true", help=CAMPAIGN_HELP)
    demo.add_argument("--no-hub", action="store_true", help="only load the data and show it")
    demo.set_defaults(func=cmd_demo)

    identify = sub.add_parser(
        "identify", help="a catalogue object's star: every identifier and why it was linked"
    )
    identify.add_argument("object", help="CATALOG:ID, e.g. UCAC4:805-031770")
    identify.add_argument("--json", action="store_true")
    identify.set_defaults(func=cmd_identify)

    stars = sub.add_parser("stars", help="cross-identification of catalogue objects")
    stars.add_argument("action", choices=["relink"], help="relink: link every object again")
    stars.set_defaults(func=cmd_stars)

    add_query_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aphos`` command line."""
    args = build_parser().parse_args(argv)
    from aphos_lib.db.embedded import EmbeddedPostgresError

    try:
        return args.func(args)
    except EmbeddedPostgresError as exc:
        print(f"aphos: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) has gone: stop quietly, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
