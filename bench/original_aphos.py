"""The original APhoS as the benchmarks replay it: its schema and its SQL, verbatim.

Both benchmarks compare APhoS with the original on the same database server in the same run:
``queries.py`` with the original's searches and light curve, ``ingest.py`` with its upload
(``SpaceObjectDaoImpl.saveObject`` and ``FluxDaoImpl.saveFlux``, one row at a time). The
schema and the SQL are copied from ``docs/original-aphos.md``; the display strings it stores
(``21h41m55.291s``, ``+71°18'41.04"``) are made by :func:`ra_text` and :func:`dec_text`.
"""

from __future__ import annotations

# docs/original-aphos.md 1.0, schema.sql @e2e11a87, verbatim; the indexes are created after the
# load (they end the original file too).
ORIGINAL_TABLES = """
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;

CREATE OR REPLACE FUNCTION earth() RETURNS float8
AS
'select 180 / pi();'
    LANGUAGE SQL;

CREATE TABLE IF NOT EXISTS users
(
    google_sub  VARCHAR(100) NOT NULL PRIMARY KEY,
    username    VARCHAR(50) UNIQUE,
    description VARCHAR(300)
);

CREATE TABLE IF NOT EXISTS space_object
(
    id          SERIAL NOT NULL,
    name        VARCHAR(40),
    catalog     VARCHAR(20),
    catalog_id  VARCHAR(30) UNIQUE,
    catalog_rec VARCHAR(20),
    catalog_dec VARCHAR(20),
    coordinates earth,
    catalog_mag float4,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS photo_properties
(
    id             SERIAL    NOT NULL,
    exposure_begin timestamp NOT NULL,
    exposure_end   timestamp NOT NULL,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS flux
(
    id                  SERIAL       NOT NULL,
    rec                 VARCHAR(20)  NOT NULL,
    dec                 VARCHAR(20)  NOT NULL,
    coordinates         earth,
    ap_auto             float8,
    ap_auto_dev         float8,
    object_id           int4 REFERENCES space_object (id),
    user_id             VARCHAR(100) NOT NULL REFERENCES users (google_sub),
    photo_properties_id int4         NOT NULL REFERENCES photo_properties (id),
    apertures           float8[],
    aperture_devs       float8[],
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS uploading_logs
(
    id             SERIAL       NOT NULL,
    user_id        VARCHAR(100) NOT NULL REFERENCES users (google_sub),
    time_of_upload timestamp,
    success_cnt    int4,
    error_cnt      int4,
    PRIMARY KEY (id)
);

CREATE TABLE IF NOT EXISTS uploading_error_messages
(
    id               SERIAL NOT NULL,
    uploading_log_id int4 REFERENCES uploading_logs (id),
    filename         VARCHAR(50),
    error_message    VARCHAR(100),
    PRIMARY KEY (id)
);
"""
ORIGINAL_INDEXES = [
    "CREATE INDEX IF NOT EXISTS object_coordinates_index ON space_object (coordinates);",
    "CREATE INDEX IF NOT EXISTS object_catalog_index ON space_object (catalog);",
    "CREATE INDEX IF NOT EXISTS object_catalog_mag_index ON space_object (catalog_mag);",
    "CREATE INDEX IF NOT EXISTS flux_object_id_index ON flux (object_id);",
    "CREATE INDEX IF NOT EXISTS flux_user_id_index ON flux (user_id);",
    "CREATE INDEX IF NOT EXISTS flux_photo_properties_id_index ON flux (photo_properties_id);",
]

# FluxDaoImpl.getFluxesByObjId @56819097 (1(c)), verbatim.
ORIGINAL_COMPARISON = (
    "SELECT rec, dec, OF.ap_auto, OF.apertures, RF.ap_auto ref_ap_auto, "
    + "OF.ap_auto_dev, OF.aperture_devs, RF.ap_auto_dev ref_ap_auto_dev, RF.aperture_devs "
    + "ref_ap_devs, "
    + "RF.apertures ref_apertures, username, exposure_begin, exposure_end, google_sub FROM "
    + "(SELECT * FROM flux WHERE object_id=?) AS OF INNER JOIN "
    + "(SELECT ap_auto, apertures, ap_auto_dev, aperture_devs, photo_properties_id "
    + "FROM flux WHERE object_id=?) AS RF "
    + "ON OF.photo_properties_id=RF.photo_properties_id INNER JOIN users ON "
    + "users.google_sub=user_id "
    + "INNER JOIN photo_properties on OF.photo_properties_id=photo_properties.id"
).replace("?", "%s")


def original_search_sql(*, cone: bool = False, name: bool = False, mag: bool = False) -> str:
    """The SQL ``SpaceObjectDaoImpl.queryObjects`` @c9b24076 builds (1(a)), piece by piece."""
    query = (
        "SELECT space_object.id AS obj_id, "
        + "name, catalog, catalog_id, catalog_rec, catalog_dec, "
        + "catalog_mag, count(flux.id) AS flux_count"
        + " FROM space_object LEFT OUTER JOIN flux ON object_id=space_object.id"
    )
    append_and = False
    if cone:
        query += " WHERE"
        query += " earth_box(ll_to_earth(?, ?), ?) @> space_object.coordinates"
        append_and = True
    if name:
        query += " AND" if append_and else " WHERE"
        query += " name LIKE ?"
        append_and = True
    if mag:
        query += " AND" if append_and else " WHERE"
        query += " catalog_mag BETWEEN ? AND ?"
    query += (
        " GROUP BY space_object.id, name, catalog, catalog_id,"
        + " catalog_rec, catalog_dec, catalog_mag LIMIT 100"
    )
    return query.replace("?", "%s")


# SpaceObjectDaoImpl.saveObject (docs/original-aphos.md, notes on 1.0): dedupe by catalog_id
# only, then insert; the id comes back as JDBC's generated key (RETURNING).
SELECT_OBJECT = "SELECT id FROM space_object WHERE catalog_id=%s"
INSERT_OBJECT = (
    "INSERT INTO space_object (id, name, catalog, catalog_id, catalog_rec, catalog_dec, "
    "coordinates, catalog_mag)VALUES (nextval('space_object_id_seq'), %s, %s, %s, %s, %s, "
    "ll_to_earth(%s, %s), %s) RETURNING id"
)
# FluxDaoImpl.saveFlux, verbatim.
INSERT_FLUX = (
    "INSERT INTO flux (id, rec, dec, coordinates, ap_auto, ap_auto_dev, object_id, user_id, "
    "photo_properties_id, apertures, aperture_devs)VALUES (nextval('flux_id_seq'), %s, %s, "
    "ll_to_earth(%s, %s) ,%s, %s, %s, %s, %s, %s, %s)"
)
# One row per uploaded image (the pairing key of its light curves).
INSERT_PHOTO = (
    "INSERT INTO photo_properties (id, exposure_begin, exposure_end) "
    "VALUES (nextval('photo_properties_id_seq'), %s, %s) RETURNING id"
)


def ra_text(ra_deg: float) -> str:
    """The original's display form of a right ascension, e.g. ``21h41m55.291s``.

    Examples
    --------
    >>> ra_text(325.4804)
    '21h41m55.296s'
    """
    t = round(ra_deg / 15 * 3_600_000)
    return f"{t // 3_600_000:02d}h{t // 60_000 % 60:02d}m{t % 60_000 / 1000:06.3f}s"


def dec_text(dec_deg: float) -> str:
    """The original's display form of a declination, e.g. ``+71°18'41.04"``.

    Examples
    --------
    >>> print(dec_text(-0.5))
    -00°30'00.00"
    """
    t = round(abs(dec_deg) * 360_000)
    sign = "-" if dec_deg < 0 else "+"
    return f"{sign}{t // 360_000:02d}°{t // 6000 % 60:02d}'{t % 6000 / 100:05.2f}\""
