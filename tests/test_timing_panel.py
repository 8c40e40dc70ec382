"""The object page's timing panel: the library's timings, shown and drawn."""

import re

import numpy as np
import pandas as pd

from aphos_lib import LightCurve
from aphos_lib.demo.variables import eclipsing_magnitude
from aphos_lib.widgets.object_page import ObjectPage, parse_request
from aphos_lib.widgets.timing_panel import TimingPanel

GK_CEP = "UCAC4:805-031770"
GK_CMP = "UCAC4:803-032417"


def test_the_panel_on_a_campaign_object_page_shows_the_librarys_minima(campaign_catalogue):
    catalogue, _ = campaign_catalogue
    with catalogue.connect("reader", autocommit=True) as conn:
        page = ObjectPage(conn, parse_request(f"variable={GK_CEP}&comparison={GK_CMP}"))
        page.timing.button.click()
        expected = page.curve.o_c().table
    text = page.timing.result.value
    rows = re.findall(r"<tr><td>([0-9.]+)</td>", text)
    assert len(rows) == len(expected) >= 5
    assert rows == [f"{t:.5f}" for t in expected["time"]]
    assert "fitted ephemeris" in text
    assert bytes(page.timing.o_c_image.value).startswith(b"\x89PNG")
    assert bytes(page.timing.fits_image.value).startswith(b"\x89PNG")


def test_with_an_ephemeris_the_o_c_is_against_it_and_a_bare_curve_says_what_is_missing():
    t = 2459525.0 + np.arange(0, 0.45, 0.002)
    m = eclipsing_magnitude(
        t,
        mag_max=8.4,
        period_d=0.936,
        epoch_hjd=2459525.2,
        depth_primary=0.3,
        depth_secondary=0.2,
        eclipse_sigma_phase=0.05,
    )
    curve = LightCurve(pd.DataFrame({"hjd": t, "magnitude": m, "night": "n1", "observer": "<i>"}))
    panel = TimingPanel(lambda: curve)
    panel.epoch.value, panel.period.value = 2459525.2, 0.936
    panel.run()
    assert "the given ephemeris" in panel.result.value
    assert "&lt;i&gt;" in panel.result.value and "<i>" not in panel.result.value
    assert re.search(r"<td>0</td><td>-?0\.0\d</td>", panel.result.value)  # cycle 0, O-C ~ 0
    flat = LightCurve(pd.DataFrame({"hjd": t, "magnitude": 0.0}))
    panel = TimingPanel(lambda: flat)
    panel.kind.value = "maxima"
    panel.run()
    assert "No maximum is covered" in panel.result.value


def test_a_failure_is_a_short_message_not_a_trace():
    def broken():
        raise RuntimeError("the catalogue went away")

    panel = TimingPanel(broken)
    panel.run()
    assert "Traceback" not in panel.result.value and "catalogue went away" not in panel.result.value
    assert panel.result.value
