"""The binary COPY encoder, checked by PostgreSQL itself reading back what it was sent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aphos_lib.db import binary_copy as bc

pytestmark = pytest.mark.catalogue


def test_every_column_kind_round_trips_through_postgresql(catalogue):
    rng = np.random.default_rng(7)
    n = 500
    ints = rng.integers(-(2**31), 2**31 - 1, n)
    bigs = rng.integers(-(2**62), 2**62, n)
    big_null = rng.random(n) < 0.3
    floats = rng.normal(0, 1e6, n)
    floats[rng.random(n) < 0.2] = np.nan
    flags = rng.random(n) < 0.5
    names = [None if k % 3 else f"Hvězda č. {k} ★" for k in range(n)]
    ap = [rng.normal(1000, 300, n) for _ in range(4)]
    for column in ap:
        column[rng.random(n) < 0.25] = np.nan
    ap_flags = [rng.random(n) < 0.1 for _ in range(4)]
    payload = bc.encode(
        [
            bc.int4(ints),
            bc.int8(bigs, null=big_null),
            bc.float8(floats),
            bc.boolean(flags),
            bc.text(names),
            bc.float8_array(ap, n),
            bc.bool_array(ap_flags, n),
            bc.float8_array([], n),
        ]
    )
    with catalogue.connect("owner") as conn:
        conn.execute(
            "CREATE TEMP TABLE t (i int4, b int8, f float8, flag bool, name text,"
            " ap float8[], s bool[], empty float8[])"
        )
        with conn.cursor().copy("COPY t FROM STDIN (FORMAT binary)") as copy:
            copy.write(payload)
        rows = conn.execute("SELECT * FROM t").fetchall()
    assert len(rows) == n
    for k, (i, b, f, flag, name, arr, s, empty) in enumerate(rows):
        assert i == ints[k]
        assert b == (None if big_null[k] else bigs[k])
        assert (f is None) if math.isnan(floats[k]) else f == floats[k]
        assert flag == flags[k]
        assert name == names[k]
        assert arr == [None if math.isnan(c[k]) else c[k] for c in ap]
        assert s == [bool(c[k]) for c in ap_flags]
        assert empty == []


def test_no_rows_is_a_valid_stream(catalogue):
    with catalogue.connect("owner") as conn:
        conn.execute("CREATE TEMP TABLE t (x float8)")
        with conn.cursor().copy("COPY t FROM STDIN (FORMAT binary)") as copy:
            copy.write(bc.encode([bc.float8(np.array([]))]))
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_cube_points_in_their_wire_format_decode_to_what_postgresql_holds(catalogue):
    """decode_points reads an array of cube points exactly; the floats bound in are the oracle."""
    rng = np.random.default_rng(11)
    rows = rng.normal(0, 1e5, (300, 100)) * 10.0 ** rng.integers(-300, 300, (300, 100))
    rows[rng.random(rows.shape) < 0.05] = np.nan
    rows[0, :3] = [np.inf, -np.inf, 2.0**53]
    with catalogue.connect("reader", autocommit=True) as conn:
        cur = conn.cursor(binary=True)
        raw = cur.execute(
            "SELECT array_send(array_agg(cube(x) ORDER BY k)) FROM ("
            " SELECT k, array_agg(v ORDER BY j) AS x"
            " FROM unnest(%s::float8[]) WITH ORDINALITY AS u(v, n),"
            " LATERAL (SELECT (n - 1) / %s AS k, (n - 1) %% %s AS j) p GROUP BY k) rows",
            (rows.ravel().tolist(), 100, 100),
        ).fetchone()[0]
        decoded = bc.decode_points(raw, 100)
        assert decoded.shape == (300, 100)
        np.testing.assert_array_equal(decoded, rows)  # NaN in the same places, bit-exact else
        assert bc.decode_points(None, 7).shape == (0, 7)  # array_agg of no rows is NULL
        raw = cur.execute("SELECT array_send(ARRAY[cube(ARRAY[1.0, 2.0]::float8[])])").fetchone()
        with pytest.raises(ValueError, match="3 coordinates"):
            bc.decode_points(raw[0], 3)
        boxes = cur.execute("SELECT array_send(ARRAY[cube(ARRAY[1.0, 2.0], ARRAY[3.0, 4.0])])")
        with pytest.raises(ValueError, match="cube points"):
            bc.decode_points(boxes.fetchone()[0], 2)
        raw = cur.execute("SELECT array_send(ARRAY[cube(ARRAY[1.0, 2.0]::float8[]), NULL])")
        with pytest.raises(ValueError, match="NULL"):
            bc.decode_points(raw.fetchone()[0], 2)
