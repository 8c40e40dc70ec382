"""The object page's view, without a browser: the time axis and the hover text, a night
chosen in the table and ringed in the plot, the PNG, every aperture listed on demand, and the
address that holds every choice.

As in test_widgets_object.py, the oracle is an independent call of
:func:`differential_photometry` with the same choices.
"""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from bqplot import DateScale, LinearScale, Scatter
from test_widgets_object import open_page, table_rows

from aphos_lib.photometry import ApertureChoice, differential_photometry
from aphos_lib.widgets.object_page import ObjectPage
from aphos_lib.widgets.object_query import ObjectRequest, parse_request

pytestmark = pytest.mark.catalogue
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
BRIGHT = "UCAC4:807-030174"  # saturated in 81 of its images with GK Cep
NIGHT = "2021-11-06"  # kowalski's six images of GK Cep
PAIR = f"variable={GK_CEP}&comparison={GK_CMP}"


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def observer_marks(page: ObjectPage) -> list[Scatter]:
    return [
        m
        for m in page.plot.figure.marks
        if isinstance(m, Scatter) and m not in page.plot.plot.rings
    ]


# --- The light curve -------------------------------------------------------------------------


def test_the_time_axis_is_calendar_dates_with_the_hjd_on_hover_or_as_an_option(reader):
    page = open_page(reader, PAIR)
    oracle = differential_photometry(reader, GK_CEP, GK_CMP).data
    figure = page.plot.plot
    assert isinstance(figure.x_scale, DateScale) and figure.x_axis.label == "Date (UTC)"
    assert figure.x_axis.tick_format == "%Y-%m-%d"  # the whole curve spans weeks
    assert figure.x_scale.min < oracle.time_utc.min().tz_localize(None) < figure.x_scale.max
    # Each point's tooltip: its UTC time, HJD, magnitude and error, observer and night.
    names = {n for m in observer_marks(page) for n in m.names}
    for r in oracle.itertuples():
        error = "unknown" if np.isnan(r.deviation) else f"{r.deviation:.4f}"
        assert (
            f"{r.time_utc:%Y-%m-%d %H:%M:%S} UTC\nHJD {r.hjd:.5f}\nΔm {r.magnitude:.4f} ± "
            f"{error}\n{r.observer}, night {r.night}"
        ) in names
    # Zoomed into a night the labels name the hours.
    figure.x_scale.max = figure.x_scale.min + datetime.timedelta(hours=6)
    assert figure.x_axis.tick_format == "%m-%d %H:%M"
    # HJD as the axis: the same magnitudes against the header's HJD.
    page.plot.time_axis.value = "hjd"
    assert isinstance(page.plot.plot.x_scale, LinearScale)
    assert page.plot.plot.x_axis.label == "HJD"
    x = np.sort(np.concatenate([np.asarray(m.x) for m in observer_marks(page)]))
    np.testing.assert_array_equal(x, np.sort(oracle.hjd.to_numpy()))
    assert page.plot.figure.interaction.scales["x"] == [page.plot.plot.x_scale]
    assert "time=hjd" in page.address.query


def test_choosing_a_row_rings_its_nights_points_and_marks_its_rows(reader):
    page = open_page(reader, PAIR)
    data = differential_photometry(reader, GK_CEP, GK_CMP).data
    night = data[data.night.astype(str) == NIGHT]
    image = int(night.image_id.iloc[2])
    page.table.table.picked = {
        "imageId": str(image),
        "night": NIGHT,
        "observer": night.observer.iloc[0],
        "serial": "1",
    }
    ring, image_ring = page.plot.plot.rings
    np.testing.assert_array_equal(np.asarray(ring.y), night.magnitude.to_numpy())
    np.testing.assert_array_equal(
        np.asarray(ring.x), night.time_utc.to_numpy(dtype="datetime64[ms]")
    )
    assert ring.display_legend and ring.labels == [f"night {NIGHT} ({night.observer.iloc[0]})"]
    assert np.asarray(image_ring.y).tolist() == [night.magnitude.iloc[2]]
    page.table.go(int(np.flatnonzero(data.image_id == image)[0]) // page.table.page_size)
    marked = re.findall(
        r'<tr class="(chosen-[a-z]+)" data-pick data-image-id="(\d+)"', page.table.table.value
    )
    assert sorted(int(i) for _, i in marked) == sorted(night.image_id)
    assert [int(i) for c, i in marked if c == "chosen-image"] == [image]
    # The same row again clears the mark.
    page.table.table.picked = {
        "imageId": str(image),
        "night": NIGHT,
        "observer": night.observer.iloc[0],
        "serial": "2",
    }
    assert len(ring.x) == 0 and len(image_ring.x) == 0
    assert 'class="chosen-' not in page.table.table.value


def test_save_png_asks_the_browser_for_the_figure(reader, monkeypatch):
    page = open_page(reader, PAIR)
    sent = []
    monkeypatch.setattr(page.plot.figure, "send", sent.append)
    page.plot.save_button.click()
    assert sent == [
        {
            "type": "save_png",
            "scale": None,
            "filename": "UCAC4_805-031770-vs-UCAC4_803-032417-lightcurve.png",
        }
    ]


def test_a_plot_without_points_is_hidden_and_comes_back(reader):
    everyone = "".join(f"&exclude={o}" for o in ["dvorak", "kowalski", "novak", "smith", "svoboda"])
    page = open_page(reader, PAIR + everyone)
    assert page.plot.plot.points == 0
    assert page.plot.figure.layout.display == "none" and page.plot.tools.layout.display == "none"
    page.observers["novak"].value = True
    assert page.plot.plot.points == 19
    assert page.plot.figure.layout.display is None


# --- Every aperture of every star ----------------------------------------------------------


class _ApertureRows(HTMLParser):
    """``{image_id: {star prefix: [cell texts]}}`` of the table's aperture rows."""

    def __init__(self):
        super().__init__()
        self.images, self._image, self._star, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-aperture-of" in attrs:
            self._image = int(attrs["data-aperture-of"])
            self.images[self._image] = {}
        elif tag == "tr" and (attrs.get("class") or "").startswith("aphos-aperture-star-"):
            self._star = attrs["class"].removeprefix("aphos-aperture-star-")
            self.images[self._image][self._star] = []
        elif tag == "td" and self._star:
            self._cell = ""
            self.images[self._image][self._star].append([attrs.get("class") or "", ""])

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table" and self._star:
            self._star = None

    def handle_data(self, data):
        if self._cell is not None and self._star:
            self.images[self._image][self._star][-1][1] += data


def _cell(flux, deviation, saturated) -> str:
    text = f"{flux:.1f}" if flux is not None and np.isfinite(flux) else ""
    if text and deviation is not None and np.isfinite(deviation):
        text += f" ± {deviation:.1f}"
    return (text + " sat." if saturated else text) or "–"


@pytest.mark.parametrize("comparison", [GK_CMP, [GK_CMP, "UCAC4:804-031083"]])
def test_all_apertures_lists_every_aperture_of_both_stars_for_each_image(reader, comparison):
    members = np.atleast_1d(comparison).tolist()
    page = open_page(reader, f"variable={GK_CEP}" + "".join(f"&comparison={c}" for c in members))
    assert 'class="aphos-aperture-row"' not in page.table.table.value  # on demand only
    page.apertures.set_choice("variable", NIGHT, 3)
    page.table.all_apertures.value = True
    oracle = differential_photometry(
        reader, GK_CEP, comparison, aperture={NIGHT: 3}, with_apertures=True
    ).data.set_index("image_id")
    prefixes = ["var", "cmp"] if len(members) == 1 else ["var", "cmp1", "cmp2"]
    seen = 0
    for number in range(page.table.pages):
        page.table.go(number)
        parser = _ApertureRows()
        parser.feed(page.table.table.value)
        shown = page.table.data.image_id.iloc[number * 50 : (number + 1) * 50].tolist()
        assert list(parser.images) == shown  # every image of the page, in its order
        for image, stars in parser.images.items():
            row = oracle.loc[image]
            assert list(stars) == prefixes
            for prefix in prefixes:
                expected = [
                    _cell(
                        row[f"{prefix}_ap_auto"],
                        row[f"{prefix}_ap_auto_dev"],
                        row[f"{prefix}_ap_auto_saturated"],
                    )
                ]
                expected += [
                    _cell(f, d, s)
                    for f, d, s in zip(
                        row[f"{prefix}_ap"],
                        row[f"{prefix}_ap_dev"],
                        row[f"{prefix}_ap_saturated"],
                        strict=True,
                    )
                ]
                assert [text for _, text in stars[prefix]] == expected
                used = row.var_aperture if prefix == "var" else row.cmp_aperture
                assert [k for k, (css, _) in enumerate(stars[prefix]) if "chosen" in css] == [used]
            assert len(stars["var"]) > 5  # ApAuto and Ap1..ApN
            seen += 1
    assert seen == len(oracle)
    page.table.all_apertures.value = False
    assert 'class="aphos-aperture-row"' not in page.table.table.value


# --- The address is the state --------------------------------------------------------------


def test_every_choice_goes_into_the_address_and_the_address_reproduces_the_view(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={BRIGHT}")
    assert page.address.query == f"variable={GK_CEP}&comparison={BRIGHT}"
    page.observers["novak"].value = False
    page.observers["smith"].value = False
    page.apertures.set_choice("variable", NIGHT, 3)
    page.apertures.set_choice("comparison", None, 2)
    page.saturated.value = True
    page.phase.period.value = 0.936
    page.phase.epoch.value = 2459460.5
    query = page.address.query
    assert query == (
        f"variable={GK_CEP}&comparison={BRIGHT}&exclude=novak&exclude=smith"
        f"&night_aperture={NIGHT}:3&comparison_aperture=2&saturated=1"
        "&period=0.936&epoch=2459460.5"
    )
    again = open_page(reader, query)
    assert again.options() == page.options()
    assert table_rows(again) == table_rows(page)
    assert (again.phase.period.value, again.phase.epoch.value) == (0.936, 2459460.5)
    assert again.address.query == query
    assert "2021-11-06: Ap3" in again.apertures.summary.value
    # Back to the defaults: the plain address again.
    for name in ("novak", "smith"):
        page.observers[name].value = True
    page.apertures.set_choice("variable", NIGHT, 0)
    page.apertures.set_choice("comparison", None, 0)
    page.saturated.value = False
    page.phase.period.value = 0
    assert page.address.query == f"variable={GK_CEP}&comparison={BRIGHT}"


def test_parse_request_reads_every_choice_and_writes_it_back():
    query = (
        f"variable={GK_CEP}&comparison={GK_CMP}&comparison=A:2&check=A:3&exclude=novak"
        f"&aperture=2&night_aperture={NIGHT}:auto&comparison_aperture=auto"
        f"&night_comparison_aperture={NIGHT}:4&saturated=1&period=0.936"
        "&epoch=2459460.12345&time=hjd&webgl=0"
    )
    request = parse_request(query)
    night = datetime.date(2021, 11, 6)
    assert request == ObjectRequest(
        GK_CEP,
        [GK_CMP, "A:2"],
        "A:3",
        ["novak"],
        False,
        aperture=ApertureChoice(2, {night: 0}),
        comparison_aperture=ApertureChoice(0, {night: 4}),
        saturated=True,
        period=0.936,
        epoch=2459460.12345,
        time_axis="hjd",
    )
    assert parse_request(request.query()) == request
    assert request.query() == query.replace("comparison_aperture=auto&", "")


@pytest.mark.parametrize(
    ("query", "field", "value"),
    [
        ("aperture=abc", "aperture", ApertureChoice()),
        ("aperture=-3", "aperture", ApertureChoice()),
        ("aperture=99999999999999999999", "aperture", ApertureChoice()),
        ("night_aperture=2021-13-40:3&night_aperture=2021-11-06", "aperture", ApertureChoice()),
        ("period=-1&epoch=5", "period", None),
        ("period=nan", "period", None),
        ("period=1e400", "period", None),
        ("period=1&epoch=inf", "epoch", None),
        ("epoch=2459460", "epoch", None),
        ("saturated=banana", "saturated", False),
        ("time=%3Cscript%3E", "time_axis", "date"),
    ],
)
def test_an_unreadable_choice_falls_back_to_its_default(query, field, value):
    assert getattr(parse_request(f"{PAIR}&{query}"), field) == value


def test_an_address_with_an_aperture_beyond_the_images_still_opens(reader):
    page = open_page(reader, f"{PAIR}&aperture=40&night_comparison_aperture={NIGHT}:3")
    assert page.apertures.dropdowns["variable"].value == 40
    assert page.options()["aperture"] == ApertureChoice(40, {})
    assert "aphos-page-failure" not in page.status.value
    assert page.address.query == f"{PAIR}&aperture=40&night_comparison_aperture={NIGHT}:3"


def test_what_observers_typed_is_text_in_the_table_and_the_hover_text(reader):
    from aphos_lib.widgets.image_table import table_html
    from aphos_lib.widgets.lightcurve_plot import point_names

    frame = differential_photometry(reader, GK_CEP, GK_CMP).data.iloc[:1].copy()
    frame["observer"] = "<img src=x onerror=alert(1)>"
    html = table_html(
        frame,
        chosen=(str(frame.night.iloc[0]), frame.observer.iloc[0], int(frame.image_id.iloc[0])),
    )
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'data-observer="&lt;img src=x onerror=alert(1)&gt;"' in html
    # bqplot's tooltip sets the hover text with d3's text(): plain text, never markup.
    assert point_names(frame)[0].endswith(
        f"\n<img src=x onerror=alert(1)>, night {frame.night.iloc[0]}"
    )


def test_the_image_table_shows_each_images_photometric_solution(reader):
    """The page's table: each image's zero point, fit RMS and stars in the variable's
    aperture, as stored; an image without one says so."""
    from aphos_lib.calibration import solutions_of

    page = open_page(reader, f"{PAIR}&aperture=2")
    html = page.table.table.value
    rows = page.table.data.iloc[: page.table.page_size]
    stored = solutions_of(reader, rows.image_id.tolist())
    cells = re.findall(r'data-image-id="(\d+)".*?<td class="zero_point">([^<]*)</td>'
                       r'<td class="solution_rms">([^<]*)</td>'
                       r'<td class="solution_stars">([^<]*)</td>', html)  # fmt: skip
    assert len(cells) == len(rows) > 10
    for image_id, zero_point, rms, stars in cells:
        s = stored[(int(image_id), 2)]
        assert zero_point == f"{s.zero_point:.3f} ± {s.zero_point_err:.3f}"
        assert (rms, stars) == (f"{s.rms:.3f}", str(s.n_stars))

    from aphos_lib.widgets.image_table import table_html

    missing = {k: np.full(1, np.nan) for k in ("zero_point", "zero_point_err", "rms", "n_stars")}
    assert '<td class="zero_point">none</td>' in table_html(rows.iloc[:1], solutions=missing)
