"""Stars: the catalogue objects that are one object on the sky, and where they were linked.

SIPS matches each measured star to the catalogue the observer chose, so one star observed by
two observers can be a UCAC4 object in one's files and a USNO-B1.0 object in the other's;
rows SIPS matched to no catalogue star become APhoS sources (catalogue ``APHOS``,
:mod:`aphos_lib.sources`). A ``star`` groups them (:mod:`aphos_lib.cross_identification`):

- every catalogue object belongs to exactly one star (``catalog_object.star_id``): a new
  object founds a star of its own, with its id, in the transaction that stores it (and waits
  in ``link_pending``, one row of ids per file); the ingest's fold then links the pending
  objects to the stars near them, moving an object that joins another star (its own star
  goes), and
  ``aphos stars relink`` links everything again. A link keeps why it was made
  (``link_reason``, the separation and magnitude difference to the member it was linked
  to); a star's founder has none;
- a star keeps what a search reads, so that no search joins or aggregates members: its
  position (the mean of its members'), its leading identifier and its object
  (``catalog``, ``catalog_id``, ``primary_object_id``: UCAC4 first, then other catalogues by
  name, APhoS sources last), name,
  magnitude and colours, every identifier (``CATALOG ID``), its catalogues, its members'
  names (the name search's trigram index) and their number of fluxes, all rewritten by
  :func:`refresh_stars` whenever a member joins or a fold changes a member's count;
- ``catalogue_totals.stars`` counts them (a search without filters reads it);
- as ``catalog_object`` (0009), pages are filled to half, so that the fold's update of each
  star's count stays on its page and touches none of the seven indexes.

This migration links the objects already stored.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
VACUUM_AFTER = ["star", "catalog_object"]

READER = "aphos_reader"
WRITER = "aphos_writer"

# A star's members in the order their identifiers are listed: UCAC4 (the catalogue the
# original APhoS advised), other catalogues by name, APhoS sources last; then by id.
MEMBER_ORDER = "o.catalog = 'APHOS', o.catalog <> 'UCAC4', o.catalog, o.id"

# The mean position is the direction of the mean unit vector: right at RA 0/360 and near
# the poles, where a mean of the angles is not.
REFRESH_FUNCTION = f"""
CREATE FUNCTION refresh_stars(star_ids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- EXECUTE plans with the ids as constants (see migration 0016).
    EXECUTE $q$
        UPDATE star s
         SET primary_object_id = m.primary_id, catalog = m.catalog, catalog_id = m.catalog_id,
             ra_deg = CASE WHEN m.n = 1 THEN m.ra ELSE
                      mod(degrees(atan2(m.y, m.x))::numeric + 360, 360)::float8 END,
             dec_deg = CASE WHEN m.n = 1 THEN m.dec ELSE
                       degrees(atan2(m.z, sqrt(m.x * m.x + m.y * m.y))) END,
             name = m.name, mag = m.mag, bv = m.bv, jk = m.jk,
             identifiers = m.identifiers, catalogs = m.catalogs, names = m.names,
             flux_count = m.flux_count, members = m.n
         FROM (SELECT o.star_id, count(*) AS n,
                      (array_agg(o.id ORDER BY {MEMBER_ORDER}))[1] AS primary_id,
                      (array_agg(o.catalog ORDER BY {MEMBER_ORDER}))[1] AS catalog,
                      (array_agg(o.catalog_id ORDER BY {MEMBER_ORDER}))[1] AS catalog_id,
                      (array_agg(o.ra_deg ORDER BY {MEMBER_ORDER}))[1] AS ra,
                      (array_agg(o.dec_deg ORDER BY {MEMBER_ORDER}))[1] AS dec,
                      avg(cosd(o.dec_deg) * cosd(o.ra_deg)) AS x,
                      avg(cosd(o.dec_deg) * sind(o.ra_deg)) AS y,
                      avg(sind(o.dec_deg)) AS z,
                      (array_agg(o.name ORDER BY {MEMBER_ORDER})
                          FILTER (WHERE o.name IS NOT NULL))[1] AS name,
                      (array_agg(o.mag ORDER BY {MEMBER_ORDER})
                          FILTER (WHERE o.mag IS NOT NULL))[1] AS mag,
                      (array_agg(o.bv ORDER BY {MEMBER_ORDER})
                          FILTER (WHERE o.bv IS NOT NULL))[1] AS bv,
                      (array_agg(o.jk ORDER BY {MEMBER_ORDER})
                          FILTER (WHERE o.jk IS NOT NULL))[1] AS jk,
                      array_agg(o.catalog || ' ' || o.catalog_id ORDER BY {MEMBER_ORDER})
                          AS identifiers,
                      array_agg(DISTINCT o.catalog) AS catalogs,
                      string_agg(o.name, E'\\n' ORDER BY {MEMBER_ORDER}) AS names,
                      sum(o.flux_count) AS flux_count
               FROM catalog_object o
               WHERE o.star_id = ANY($1)
               GROUP BY o.star_id) m
         WHERE s.id = m.star_id
    $q$ USING star_ids;
END $$
"""


# The links and new stars are written by functions that read their values from jsonb maps
# and touch catalog_object by ``id = ANY(ids)``, planned with the ids as constants (see
# migration 0016): joined to arrays instead, a plan made with statistics that say the table
# is empty (an ANALYZE during a first large ingest) rescans it once per object.
LINK_FUNCTIONS = """
CREATE FUNCTION link_objects(object_ids bigint[], links jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The objects that move and the stars they join: counts kept in a lone star go to its
    -- object first.
    PERFORM settle_lone_objects(object_ids || ARRAY(
        SELECT DISTINCT (value ->> 0)::bigint FROM jsonb_each(links)));
    EXECUTE $q$
        UPDATE catalog_object o
        SET star_id = ($2 -> o.id::text ->> 0)::bigint,
            link_reason = $2 -> o.id::text ->> 1,
            link_separation_arcsec = ($2 -> o.id::text ->> 2)::float8,
            link_mag_diff = ($2 -> o.id::text ->> 3)::float8,
            linked_to = ($2 -> o.id::text ->> 4)::bigint
        WHERE o.id = ANY($1)
    $q$ USING object_ids, links;
END $$;

CREATE FUNCTION create_stars(object_ids bigint[], star_ids jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    EXECUTE $q$
        INSERT INTO star (id, primary_object_id, catalog, catalog_id, ra_deg, dec_deg, name,
                          mag, bv, jk, identifiers, catalogs, names, flux_count, members)
        SELECT ($2 ->> o.id::text)::bigint, o.id, o.catalog, o.catalog_id, o.ra_deg, o.dec_deg,
               o.name, o.mag, o.bv, o.jk, ARRAY[o.catalog || ' ' || o.catalog_id],
               ARRAY[o.catalog], o.name, o.flux_count, 1
        FROM catalog_object o WHERE o.id = ANY($1)
    $q$ USING object_ids, star_ids;
END $$;
"""


# The fold (migration 0016) also adds each file's counts to the objects' stars, and names the
# stars whose first name a member gets: a search reads a star's count, never sums it. An
# object alone in its star (the star of its own id with one member: nearly every star) keeps
# its count and first name in the star only, so that the fold rewrites one row for it, not
# two (a third of the fold's time); ``object_totals`` reads either, and ``link_objects`` and
# ``aphos stars relink`` copy them to the object before its star gains a member.
FOLD_FUNCTION = """
CREATE OR REPLACE FUNCTION fold_pending_flux_counts() RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    fold_ids bigint[];
    fold_counts jsonb;
    first_names jsonb;
    alone bigint[];
    rest bigint[];
BEGIN
    WITH moved AS (DELETE FROM flux_count_pending RETURNING *),
         sums AS (SELECT u.id, sum(u.n) AS n
                  FROM (SELECT unnest(object_ids) AS id, unnest(counts) AS n FROM moved) AS u
                  GROUP BY u.id),
         named AS (SELECT DISTINCT ON (u.id) u.id, u.name
                   FROM moved, unnest(moved.named_ids, moved.names) AS u(id, name)
                   ORDER BY u.id, moved.id)
    SELECT s.ids, s.counts, m.names
    INTO fold_ids, fold_counts, first_names
    FROM (SELECT array_agg(sums.id) AS ids,
                 jsonb_object_agg(sums.id::text, sums.n) AS counts FROM sums) AS s,
         (SELECT jsonb_object_agg(named.id::text, named.name) AS names FROM named) AS m;
    IF fold_ids IS NULL THEN
        RETURN;
    END IF;
    first_names := coalesce(first_names, '{}'::jsonb);
    -- Objects alone in their stars: the star alone.
    EXECUTE $q$
        WITH grown AS (
            UPDATE star s
            SET flux_count = s.flux_count + ($2 ->> s.id::text)::bigint,
                name = coalesce(s.name, $3 ->> s.id::text),
                names = CASE WHEN s.name IS NULL AND $3 ? s.id::text THEN $3 ->> s.id::text
                             ELSE s.names END
            WHERE s.id = ANY($1) AND s.members = 1
            RETURNING s.id
        )
        SELECT coalesce(array_agg(id), ARRAY[]::bigint[]) FROM grown
    $q$
    INTO alone USING fold_ids, fold_counts, first_names;
    RETURN QUERY SELECT unnest(alone);
    rest := ARRAY(SELECT unnest(fold_ids) EXCEPT SELECT unnest(alone));
    IF cardinality(rest) = 0 THEN
        RETURN;
    END IF;
    -- Members of stars with several: one pass over the objects, the stars' sums from the
    -- rows the update returns.
    RETURN QUERY EXECUTE $q$
        WITH changed AS (
            UPDATE catalog_object o
            SET flux_count = o.flux_count + ($2 ->> o.id::text)::bigint,
                name = coalesce(o.name, $3 ->> o.id::text)
            WHERE o.id = ANY($1)
            RETURNING o.id, o.star_id, ($2 ->> o.id::text)::bigint AS n, o.name
        ), grown AS (
            UPDATE star s
            SET flux_count = s.flux_count + d.n,
                name = coalesce(s.name, d.name),
                names = CASE WHEN s.name IS NULL AND d.name IS NOT NULL THEN d.name
                             ELSE s.names END
            FROM (SELECT star_id, sum(n) AS n, min(name) AS name
                  FROM changed GROUP BY star_id) AS d
            WHERE s.id = d.star_id
        )
        SELECT id FROM changed
    $q$
    USING rest, fold_counts, first_names;
END $$
"""

# What each object holds, wherever it is kept: its count and first name are its star's while
# it is alone in it (see the fold above).
OBJECT_TOTALS_VIEW = """
CREATE VIEW object_totals AS
SELECT o.id, o.catalog, o.catalog_id, coalesce(o.name, s.name) AS name, o.mag, o.star_id,
       CASE WHEN s.id IS NULL THEN o.flux_count ELSE s.flux_count END AS flux_count
FROM catalog_object o LEFT JOIN star s ON s.id = o.id AND s.members = 1
"""

# Copy the count and name an object alone in its star keeps there to the object itself:
# before the star gains a member or the object moves to another star (then the star's sums
# are its members' again).
SETTLE_FUNCTION = """
CREATE FUNCTION settle_lone_objects(object_ids bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lone bigint[];
    kept jsonb;
BEGIN
    -- Two statements of one table each, by ids planned as constants: a join of the objects
    -- to their stars, planned under statistics that say catalog_object is empty, compared
    -- every object with every id (minutes for 80,000).
    EXECUTE $q$
        SELECT array_agg(s.id),
               jsonb_object_agg(s.id::text, jsonb_build_array(s.flux_count, s.name))
        FROM star s WHERE s.id = ANY($1) AND s.members = 1
    $q$ INTO lone, kept USING object_ids;
    IF lone IS NULL THEN
        RETURN;
    END IF;
    EXECUTE $q$
        UPDATE catalog_object o
        SET flux_count = ($2 -> o.id::text ->> 0)::bigint,
            name = coalesce(o.name, $2 -> o.id::text ->> 1)
        WHERE o.id = ANY($1)
          AND (o.flux_count <> ($2 -> o.id::text ->> 0)::bigint
               OR (o.name IS NULL AND ($2 -> o.id::text ->> 1) IS NOT NULL))
    $q$ USING lone, kept;
END $$
"""


def _earlier_function(migration: str, name: str) -> str:
    """The function ``name`` (its SQL) as an earlier migration created it, to replace: what a
    downgrade puts back, or what this migration changes."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(migration, Path(__file__).with_name(migration))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _fold_function_0016() -> str:
    """Migration 0016's fold, which a downgrade puts back."""
    return _earlier_function("0016_fold_function.py", "FOLD_FUNCTION")


def _seal_function_0015() -> str:
    """Migration 0015's seal of light-curve chunks, which a downgrade puts back."""
    return _earlier_function("0015_light_curve_chunks.py", "SEAL_FUNCTION")


# The seal chooses the objects worth reading by their folded counts: an object alone in its
# star has its count in the star (see the fold above). A subquery by the star's key, not a
# join: planned under statistics that say the tables are empty, a join scanned the stars
# once per object (minutes for 80,000).
_SEAL_COUNT_0015 = "WHERE (min_rows = 0 OR o.flux_count - coalesce(last.n_through, 0) >= min_rows)"
_SEAL_COUNT = (
    "WHERE (min_rows = 0 OR coalesce((SELECT lone.flux_count FROM star lone"
    " WHERE lone.id = o.id AND lone.members = 1), o.flux_count)"
    " - coalesce(last.n_through, 0) >= min_rows)"
)


def _seal_function() -> str:
    """Migration 0015's seal, reading the counts lone stars keep."""
    text = _seal_function_0015()
    assert _SEAL_COUNT_0015 in text
    return text.replace(_SEAL_COUNT_0015, _SEAL_COUNT)


# The number of stars, kept by statement triggers as catalogue_totals.objects is (0002).
COUNT_TRIGGERS = """
CREATE FUNCTION catalogue_totals_count_stars() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := (SELECT count(*) FROM added);
    ELSE
        changed := -(SELECT count(*) FROM removed);
    END IF;
    IF changed <> 0 THEN
        UPDATE catalogue_totals SET stars = stars + changed;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER star_count_added AFTER INSERT ON star REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_totals_count_stars();
CREATE TRIGGER star_count_removed AFTER DELETE ON star REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_totals_count_stars();
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE star (
            id bigint PRIMARY KEY,
            primary_object_id bigint NOT NULL,
            catalog text NOT NULL,
            catalog_id text NOT NULL,
            ra_deg float8 NOT NULL,
            dec_deg float8 NOT NULL,
            name text,
            mag float8,
            bv float8,
            jk float8,
            identifiers text[] NOT NULL DEFAULT '{}',
            catalogs text[] NOT NULL DEFAULT '{}',
            names text,
            flux_count bigint NOT NULL DEFAULT 0,
            members integer NOT NULL DEFAULT 1,
            created_at timestamptz NOT NULL DEFAULT now()
        ) WITH (fillfactor = 50)
        """
    )
    op.execute("CREATE INDEX star_position_idx ON star USING spgist (point(ra_deg, dec_deg))")
    op.execute("CREATE INDEX star_names_trgm_idx ON star USING gin (names gin_trgm_ops)")
    op.execute("CREATE INDEX star_mag_idx ON star (mag)")
    op.execute("CREATE INDEX star_catalogs_idx ON star USING gin (catalogs)")
    op.execute("CREATE INDEX star_catalog_id_idx ON star (catalog, catalog_id)")
    op.execute(
        """
        ALTER TABLE catalog_object
            ADD COLUMN star_id bigint,
            ADD COLUMN link_reason text,
            ADD COLUMN link_separation_arcsec float8,
            ADD COLUMN link_mag_diff float8,
            ADD COLUMN linked_to bigint
        """
    )
    op.execute("CREATE INDEX catalog_object_star_idx ON catalog_object (star_id)")
    # One row per stored file that founded stars, its objects as one array: a row per object
    # cost an index entry each.
    op.execute(
        "CREATE TABLE link_pending (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        " object_ids bigint[] NOT NULL)"
    )
    op.execute("ALTER TABLE link_pending ALTER object_ids SET STORAGE EXTERNAL")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON link_pending TO {WRITER}")
    op.execute(f"REVOKE ALL ON link_pending FROM {READER}")
    op.execute(
        "CREATE INDEX catalog_object_catalog_id_idx ON catalog_object (catalog_id text_pattern_ops)"
    )
    op.execute("ALTER TABLE catalogue_totals ADD COLUMN stars bigint NOT NULL DEFAULT 0")
    # How many APhoS sources each stored file founded (the upload log and its API say it).
    op.execute("ALTER TABLE upload_file ADD COLUMN new_sources integer NOT NULL DEFAULT 0")
    op.execute(COUNT_TRIGGERS)
    op.execute(REFRESH_FUNCTION)
    op.execute(FOLD_FUNCTION)
    op.execute(_seal_function())
    op.execute(SETTLE_FUNCTION)
    op.execute(LINK_FUNCTIONS)
    op.execute(OBJECT_TOTALS_VIEW)
    op.execute(f"GRANT SELECT ON object_totals TO {READER}, {WRITER}")
    for function in (
        "settle_lone_objects(bigint[])",
        "refresh_stars(bigint[])",
        "link_objects(bigint[], jsonb)",
        "create_stars(bigint[], jsonb)",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {WRITER}")
    op.execute(f"GRANT SELECT ON star TO {READER}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON star TO {WRITER}")
    op.execute(f"GRANT UPDATE ON catalogue_totals TO {WRITER}")

    # Link what is stored (the ingest's linking, as one pass over every object).
    from aphos_lib.cross_identification import relink_all

    relink_all(op.get_bind().connection.dbapi_connection)


def downgrade() -> None:
    # Before stars, rows SIPS matched to nothing belonged to no object.
    op.execute(
        "UPDATE flux SET object_id = NULL WHERE object_id IN"
        " (SELECT id FROM catalog_object WHERE catalog = 'APHOS')"
    )
    op.execute(
        "DELETE FROM light_curve_chunk WHERE object_id IN"
        " (SELECT id FROM catalog_object WHERE catalog = 'APHOS')"
    )
    op.execute(
        "DELETE FROM light_curve_seal_pending WHERE object_id IN"
        " (SELECT id FROM catalog_object WHERE catalog = 'APHOS')"
    )
    # The counts and names lone stars keep go back to their objects.
    op.execute(
        "UPDATE catalog_object o SET flux_count = s.flux_count, name = coalesce(o.name, s.name)"
        " FROM star s WHERE s.id = o.id AND s.members = 1"
    )
    op.execute("DROP VIEW object_totals")
    op.execute("UPDATE catalog_object SET star_id = NULL")
    op.execute("DELETE FROM catalog_object WHERE catalog = 'APHOS'")
    op.execute("UPDATE catalogue_totals SET objects = (SELECT count(*) FROM catalog_object)")
    op.execute("DROP TABLE link_pending")
    op.execute("DROP TRIGGER star_count_added ON star")
    op.execute("DROP TRIGGER star_count_removed ON star")
    op.execute("DROP FUNCTION catalogue_totals_count_stars()")
    op.execute("DROP FUNCTION refresh_stars(bigint[])")
    op.execute("DROP FUNCTION link_objects(bigint[], jsonb)")
    op.execute("DROP FUNCTION settle_lone_objects(bigint[])")
    op.execute("DROP FUNCTION create_stars(bigint[], jsonb)")
    op.execute(_fold_function_0016())
    op.execute(_seal_function_0015())
    op.execute("ALTER TABLE catalogue_totals DROP COLUMN stars")
    op.execute("ALTER TABLE upload_file DROP COLUMN new_sources")
    op.execute("DROP INDEX catalog_object_catalog_id_idx")
    op.execute(
        """
        ALTER TABLE catalog_object
            DROP COLUMN star_id, DROP COLUMN link_reason, DROP COLUMN link_separation_arcsec,
            DROP COLUMN link_mag_diff, DROP COLUMN linked_to
        """
    )
    op.execute("DROP TABLE star")
