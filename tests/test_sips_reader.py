"""The SIPS reader on the real fixture files and on variants made from them.

Values are checked against an independent reading of the raw lines: Python's float for
numbers and astropy's Angle for coordinates.
"""

from __future__ import annotations

import codecs
import math
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle

from aphos_lib.io.sips import SipsFormatError, read_sips

from conftest import fixture_path

MAS = 1 / 3_600_000


def raw_rows(data: bytes, encoding: str = "iso-8859-1") -> dict[int, list[str]]:
    """Line number -> fields, for every line after the table header (the oracle's own split)."""
    lines = data.decode(encoding).replace("\r\n", "\n").split("\n")
    start = next(i for i, ln in enumerate(lines) if ln.startswith("Name;"))
    return {i + 1: ln.split(";") for i, ln in enumerate(lines) if i > start and ln}


@pytest.mark.parametrize(
    ("name", "rows", "unmatched", "rejected_lines"),
    [
        ("correct_file.csv", 2671, 658, []),
        ("correct_file_shorter_header.csv", 178, 0, []),
        ("correct_file_missing_scheme.csv", 1, 0, []),
        ("few_lines_incorrect.csv", 66, 0, [32, 35]),
    ],
)
def test_fixture_files_give_the_documented_rows(name, rows, unmatched, rejected_lines):
    sips = read_sips(fixture_path(name))
    assert sips.rows.num_rows == rows
    assert sips.rows["catalog_id"].null_count == unmatched
    assert [r.line for r in sips.rejected] == rejected_lines


def test_rejected_rows_name_line_and_reason():
    sips = read_sips(fixture_path("few_lines_incorrect.csv"))
    reasons = {r.line: r.reason for r in sips.rejected}
    assert reasons[32] == "expected 26 fields separated by ';', found 20"
    assert reasons[35] == "Dec: '+67 aa 07.24' is not a sexagesimal angle like '12 34 56.7'"
    # The rows around the bad ones are kept.
    assert {31, 33, 34, 36} <= set(sips.rows["line"].to_pylist())


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "incorrect_missing_initial_info.csv",
            "missing header lines ExposureBegin and ExposureEnd",
        ),
        ("scheme_missing.csv", "no table header row was found"),
    ],
)
def test_broken_fixture_files_are_rejected_whole(name, message):
    with pytest.raises(SipsFormatError, match=message) as info:
        read_sips(fixture_path(name))
    assert str(info.value).startswith(name + ": ")


def test_every_value_of_the_full_export_matches_an_independent_reading():
    data = fixture_path("correct_file.csv").read_bytes()
    sips = read_sips(data)
    frame = sips.to_pandas().set_index("line")
    raw = raw_rows(data)
    assert sorted(raw) == frame.index.tolist()
    numbers = {
        "X": "x",
        "Y": "y",
        "ADU": "adu",
        "CatalogMag": "catalog_mag",
        "CatalogBV": "catalog_bv",
        "CatalogJK": "catalog_jk",
        "Back": "background",
        "BackDev": "background_dev",
        "ApAuto": "ap_auto",
        **{f"Ap{k}": f"ap{k}" for k in range(1, 11)},
    }
    columns = sips.columns
    saturated = 0
    for line, fields in raw.items():
        row = frame.loc[line]
        for source, target in numbers.items():
            text = fields[columns.index(source)].strip()
            if text == "saturated":
                saturated += 1
                assert math.isnan(row[target])
                assert row[f"{target}_saturated"]
            elif text == "":
                assert math.isnan(row[target])
            else:
                assert row[target] == float(text)
                if source.startswith("Ap"):
                    assert not row[f"{target}_saturated"]
    assert saturated == data.count(b"saturated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ra = Angle([f[columns.index("RA")] for f in raw.values()], unit=u.hourangle).degree
        dec = Angle([f[columns.index("Dec")] for f in raw.values()], unit=u.deg).degree
    assert np.max(np.abs(frame["ra_deg"].to_numpy() - ra)) < MAS
    assert np.max(np.abs(frame["dec_deg"].to_numpy() - dec)) < MAS


def test_header_is_kept_as_written_and_times_are_utc():
    sips = read_sips(fixture_path("correct_file.csv"))
    assert sips.encoding == "iso-8859-1"
    assert len(sips.header) == 23
    assert sips.header[8].raw == "Filter;V       "
    assert sips.header_value("Filter") == "V"
    assert sips.header_value("CenterDec") == "+68° 33' 34.59\""
    assert sips.header[18].raw == "Object;"
    assert sips.exposure_begin.isoformat() == "2021-11-06T16:27:45.652000+00:00"
    assert sips.exposure_end.isoformat() == "2021-11-06T16:29:15.653000+00:00"
    assert sips.exposure_middle.isoformat() == "2021-11-06T16:28:30.652500+00:00"
    assert sips.header_float("HJD") == 2459525.18849643
    assert sips.apertures == 10
    assert sips.columns[:6] == ["Name", "X", "Y", "ADU", "RA", "Dec"]


def _variant(text: str, encoding: str, newline: str = "\r\n", bom: bool = False) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", newline).encode(encoding)
    return (codecs.BOM_UTF8 if bom else b"") + data


@pytest.mark.parametrize(
    ("encoding", "bom", "newline", "observer"),
    [
        ("utf-8", False, "\n", "Jiří Dvořák"),
        ("utf-8", True, "\r\n", "Jiří Dvořák"),
        ("windows-1250", False, "\r\n", "Jiří Dvořák"),
        ("iso-8859-1", False, "\r\n", "José Müller"),
        ("iso-8859-1", False, "\n", "François Lefèvre"),
    ],
)
def test_encodings_and_line_ends_give_the_same_rows(encoding, bom, newline, observer):
    original = fixture_path("correct_file.csv").read_bytes().decode("iso-8859-1")
    text = original.replace("Observer;\r\n", f"Observer;{observer}\r\n")
    sips = read_sips(_variant(text, encoding, newline, bom))
    assert sips.header_value("Observer") == observer
    assert sips.header_value("CenterDec") == "+68° 33' 34.59\""
    assert sips.encoding == {"utf-8": "utf-8-sig" if bom else "utf-8"}.get(encoding, encoding)
    reference = read_sips(fixture_path("correct_file.csv"))
    assert sips.rows.equals(reference.rows)


def test_values_padded_with_spaces_read_the_same():
    lines = fixture_path("correct_file.csv").read_bytes().decode("iso-8859-1").split("\r\n")
    table = next(i for i, ln in enumerate(lines) if ln.startswith("Name;"))
    padded = lines[: table + 1] + [
        ";".join(f"  {v} " for v in ln.split(";")) if ln else ln for ln in lines[table + 1 :]
    ]
    sips = read_sips("\r\n".join(padded).encode("iso-8859-1"))
    reference = read_sips(fixture_path("correct_file.csv"))
    assert sips.rows.num_rows == 2671
    assert sips.rows.drop_columns(["name"]).equals(reference.rows.drop_columns(["name"]))


HEADER = "ExposureBegin;2021-11-06T16:27:45.652\nExposureEnd;2021-11-06T16:29:15.653\n"


def test_any_number_of_apertures_with_optional_deviation_columns():
    text = HEADER + (
        "Name;RA;Dec;Catalog;CatalogId;ApAuto;ApAutoDev;Ap1;Ap1Dev;Ap2;Ap2Dev;Ap3;Ap3Dev\n"
        "GK Cep;21 31 00.024;+70 49 22.62;UCAC4;805-031770;100.5;1.5;90;1.25;saturated;"
        "saturated;120;\n"
    )
    sips = read_sips(text.encode())
    row = sips.to_pandas().iloc[0]
    assert sips.apertures == 3
    assert row["name"] == "GK Cep"
    assert (row["ap_auto"], row["ap_auto_dev"]) == (100.5, 1.5)
    assert (row["ap1"], row["ap1_dev"]) == (90.0, 1.25)
    assert math.isnan(row["ap2"]) and row["ap2_saturated"] and math.isnan(row["ap2_dev"])
    assert row["ap3"] == 120.0 and math.isnan(row["ap3_dev"]) and not row["ap3_saturated"]


def test_only_the_mandatory_columns():
    sips = read_sips((HEADER + "RA;Dec;ApAuto\n00 00 01.5;-00 10 00;5\n").encode())
    row = sips.to_pandas().iloc[0]
    assert sips.apertures == 0
    assert row["ra_deg"] == pytest.approx(1.5 * 15 / 3600)
    assert row["dec_deg"] == pytest.approx(-10 / 60)
    assert sips.rows["catalog_id"].null_count == 1 and math.isnan(row["x"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "Name;X;Y;RA;Dec;Catalog\n",
            "the table header row (line 3) lacks the mandatory column ApAuto",
        ),
        ("Name;X;Y;ADU;Catalog\n", "lacks the mandatory columns RA, Dec, ApAuto"),
        ("RA;Dec;ApAuto;Ap1;Ap3\n", "aperture columns must be Ap1..Ap3; missing Ap2"),
        ("RA;Dec;ApAuto;RA\n", "column 'RA' appears twice"),
    ],
)
def test_bad_table_headers_reject_the_file(table, message):
    with pytest.raises(SipsFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_sips((HEADER + table).encode(), name="night.csv")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "ExposureBegin;yesterday\nExposureEnd;2021-11-06T16:29:15\n",
            "line 1: ExposureBegin 'yesterday' is not a time",
        ),
        (
            "ExposureBegin;2021-11-06T16:29:15\nExposureEnd;2021-11-06T16:27:45\n",
            "ExposureEnd 2021-11-06T16:27:45 is before ExposureBegin",
        ),
        ("ExposureEnd;2021-11-06T16:29:15\n", "missing header line ExposureBegin"),
    ],
)
def test_bad_exposure_times_reject_the_file(header, message):
    with pytest.raises(SipsFormatError, match=message):
        read_sips((header + "RA;Dec;ApAuto\n21 00 00;+10 00 00;5\n").encode())


def test_times_with_an_offset_are_converted_to_utc():
    text = "ExposureBegin;2021-11-06T17:27:45+01:00\nExposureEnd;2021-11-06T16:29:15Z\n"
    sips = read_sips((text + "RA;Dec;ApAuto\n21 00 00;+10 00 00;5\n").encode())
    assert sips.exposure_begin.isoformat() == "2021-11-06T16:27:45+00:00"


def test_bad_rows_are_reported_with_line_and_reason_and_the_rest_kept():
    text = HEADER + (
        "Name;RA;Dec;Catalog;CatalogId;ApAuto;Ap1\n"  # line 3
        "ok;21 00 00;+10 00 00;UCAC4;501-000001;5;6\n"  # 4
        ";21 60 00;+10 00 00;UCAC4;501-000002;5;6\n"  # 5 minutes 60
        ";21 00 00;+10 00 00;UCAC4;;5;6\n"  # 6 catalogue without id
        ";21 00 00;+10 00 00;;;abc;nan\n"  # 7 two bad numbers
        ";21 00 00;+10 00 00;;;5;6;7\n"  # 8 one field too many
        "\n"  # 9 blank: not a row
        ";;+10 00 00;;;5;6\n"  # 10 no RA
        ";21 00 00;+10 00 00;;;;\n"  # 11 fine: no fluxes at all
    )
    sips = read_sips(text.encode())
    assert sips.rows["line"].to_pylist() == [4, 11]
    assert [(r.line, r.reason) for r in sips.rejected] == [
        (5, "RA: '21 60 00': minutes 60 must be below 60"),
        (6, "Catalog and CatalogId must both be given or both be empty"),
        (7, "ApAuto: 'abc' is not a number; Ap1: 'nan' is not a number"),
        (8, "expected 7 fields separated by ';', found 8"),
        (10, "RA: is empty"),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_lone_carriage_return_inside_a_row_is_not_a_line_end(newline):
    text = (
        HEADER
        + (
            "Name;RA;Dec;Catalog;CatalogId;ApAuto;Ap1\n"  # line 3
            "a;21 00 00;+10 00 00;UCAC4;501-000001;5;6\n"  # 4
            "b;21 00 00;+10 00 00;UCAC4;501-000002;5\r;6\n"  # 5: a stray CR splits nothing
            "c;21 00 00;+10 00 00;UCAC4;501-000003;5;6\r;7\n"  # 6: ... but the extra field counts
            "d;21 00 00;+10 00 00;UCAC4;501-000004;5;6\n"  # 7
        )
    ).replace("\n", newline)
    sips = read_sips(text.encode())
    assert sips.rows["line"].to_pylist() == [4, 5, 7]
    assert sips.rows["ap_auto"].to_pylist() == [5.0, 5.0, 5.0]
    assert [(r.line, r.reason) for r in sips.rejected] == [
        (6, "expected 7 fields separated by ';', found 8")
    ]
