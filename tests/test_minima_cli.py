"""``aphos minima``: the timings of the archive's light curve, one JSON object per line."""

import json

import pytest
from test_lightcurve import GK_CEP, GK_CMP, _cli


@pytest.mark.parametrize("demo_catalogue", ["embedded"], indirect=True)
def test_aphos_minima_prints_the_timings_and_their_o_c(demo_catalogue, demo_files):
    _, manifest = demo_files
    truth = manifest.star(GK_CEP.split(":")[1]).variability
    out = _cli(
        demo_catalogue,
        "minima",
        GK_CEP,
        GK_CMP,
        "--json",
        "--epoch",
        str(truth["epoch_hjd"]),
        "--period",
        str(truth["period_d"]),
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    print(f"{len(rows)} minima; stderr: {out.stderr.strip()}")
    for row in rows:
        assert set(row) >= {
            "bjd_tdb",
            "error_d",
            "type",
            "method",
            "n",
            "observer",
            "night",
            "cycle",
            "o_c_d",
        }
        assert row["type"] in ("primary", "secondary")
    csv = _cli(demo_catalogue, "minima", GK_CEP, GK_CMP)
    assert csv.returncode == 0, csv.stderr
    assert "time,error_d,time_scale,type,filter,method,observer" in csv.stdout
    bad = _cli(demo_catalogue, "minima", GK_CEP, GK_CMP, "--epoch", "2459525.3")
    assert bad.returncode == 2 and "--epoch needs --period" in bad.stderr
