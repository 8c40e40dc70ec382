"""The object page's widgets, without a browser: what they show is what aphos_lib computes.

Each test drives the widgets as a user would (dropdowns, checkboxes, text fields) and checks
the table, the plot's marks and the download links against an independent call of
:func:`differential_photometry` with the same choices.
"""

from __future__ import annotations

import datetime
import html
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from bqplot import Figure, PanZoom, Scatter

from aphos_lib.photometry import differential_photometry
from aphos_lib.widgets.object_page import ObjectPage, object_page, parse_request

pytestmark = pytest.mark.catalogue
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
BRIGHT = "UCAC4:807-030174"  # 6.3 mag: saturated in 81 of its images with GK Cep
NIGHT = "2021-11-06"  # kowalski's six images of GK Cep


class _Rows(HTMLParser):
    """The table's rows as {column class: text}, with the row's data- attributes."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-image-id" in attrs:
            self.rows.append(
                {"image_id": int(attrs["data-image-id"]), "data-night": attrs["data-night"]}
            )
        elif tag == "td" and self.rows:
            self._cell = attrs["class"]
            self.rows[-1][self._cell] = ""
        elif tag == "a" and self._cell == "uploader":
            self.rows[-1]["href"] = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell:
            self.rows[-1][self._cell] += data


def table_rows(page: ObjectPage) -> list[dict]:
    """Every row of the table, page after page, as the user would read them."""
    rows = []
    for number in range(page.table.pages):
        page.table.go(number)
        parser = _Rows()
        parser.feed(page.table.table.value)
        rows += parser.rows
    page.table.go(0)
    return rows


def shown_points(page: ObjectPage) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The light curve's points by observer, read from the figure's scatter marks."""
    return {
        mark.labels[0]: (np.asarray(mark.x), np.asarray(mark.y))
        for mark in page.plot.figure.marks
        if isinstance(mark, Scatter) and mark not in page.plot.plot.rings
    }


def expected_cells(curve) -> list[dict]:
    data = curve.data
    return [
        {
            "image_id": int(r.image_id),
            "night": r.night.isoformat(),
            "magnitude": "saturated" if r.saturated else f"{r.magnitude:.4f}",
            "deviation": "" if np.isnan(r.deviation) else f"{r.deviation:.4f}",
            "uploader": r.observer,
        }
        for r in data.itertuples()
    ]


def cells(rows: list[dict]) -> list[dict]:
    keys = ["image_id", "night", "magnitude", "deviation", "uploader"]
    return [{k: r[k] for k in keys} for r in rows]


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def open_page(reader, query: str) -> ObjectPage:
    page = object_page(query, conn=reader)
    assert isinstance(page, ObjectPage), page.value
    return page


def test_the_table_and_the_plot_equal_the_librarys_light_curve(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    oracle = differential_photometry(reader, GK_CEP, GK_CMP)
    rows = table_rows(page)
    assert len(rows) == len(oracle) == 142
    assert cells(rows) == expected_cells(oracle)
    assert page.table.where.value.startswith('<span data-rows="142">Images 1–50 of 142')
    assert rows[0]["href"] == f"profile.ipynb?username={oracle.data.observer[0]}"
    assert rows[0]["var_aperture"] == rows[0]["cmp_aperture"] == "auto"
    assert rows[0]["var_ap_auto"] == f"{oracle.data.var_ap_auto[0]:.1f}"
    points = shown_points(page)
    assert set(points) == set(oracle.data.observer)
    for observer, group in oracle.data.groupby("observer"):
        x, y = points[observer]  # calendar time (UTC) on the axis
        np.testing.assert_array_equal(x, group.time_utc.to_numpy(dtype="datetime64[ms]"))
        np.testing.assert_array_equal(y, group.magnitude.to_numpy())
    assert page.plot.count.value.startswith('<span data-points="142" data-version=')
    # The magnitude axis is inverted: brighter (smaller) magnitudes are up.
    assert page.plot.plot.y_scale.reverse is True


def test_changing_one_nights_aperture_changes_exactly_that_nights_magnitudes(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    before = {r["image_id"]: r for r in table_rows(page)}
    page.apertures.set_choice("variable", NIGHT, 3)
    oracle = differential_photometry(reader, GK_CEP, GK_CMP, aperture={NIGHT: 3})
    after = table_rows(page)
    assert cells(after) == expected_cells(oracle)
    changed = {r["image_id"] for r in after if r != before[r["image_id"]]}
    assert changed == {int(i) for i in oracle.data.image_id[oracle.data.night.astype(str) == NIGHT]}
    assert len(changed) == 6
    assert {r["var_aperture"] for r in after if r["data-night"] == NIGHT} == {"Ap3"}
    assert "2021-11-06: Ap3" in page.apertures.summary.value
    # Back to auto: the table is the ApAuto one again.
    page.apertures.set_choice("variable", NIGHT, 0)
    assert {r["image_id"]: r for r in table_rows(page)} == before
    # The comparison's aperture, on every night.
    page.apertures.set_choice("comparison", None, 2)
    oracle = differential_photometry(reader, GK_CEP, GK_CMP, comparison_aperture=2)
    assert cells(table_rows(page)) == expected_cells(oracle)


def test_the_aperture_dropdown_offers_auto_and_the_nights_apertures(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    page.apertures.night.value = NIGHT
    counts = reader.execute(
        "SELECT max(apertures) FROM image WHERE id = ANY(%s)",
        ([int(i) for i in page.curve.data.image_id[page.curve.data.night.astype(str) == NIGHT]],),
    ).fetchone()[0]
    labels = [label for label, _ in page.apertures.dropdowns["variable"].options]
    assert labels == ["auto"] + [f"Ap{k}" for k in range(1, counts + 1)]


def test_show_saturated_adds_the_rows_the_library_hides(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={BRIGHT}")
    hidden = differential_photometry(reader, GK_CEP, BRIGHT)
    shown = differential_photometry(reader, GK_CEP, BRIGHT, include_saturated=True)
    assert (len(hidden), len(shown)) == (61, 142)
    assert len(table_rows(page)) == 61
    page.saturated.value = True
    rows = table_rows(page)
    assert cells(rows) == expected_cells(shown)
    assert sum(r["magnitude"] == "saturated" for r in rows) == 81
    assert page.plot.plot.points == 61  # saturated rows have no magnitude to plot
    page.saturated.value = False
    assert len(table_rows(page)) == 61


def test_excluding_an_observer_removes_exactly_their_rows(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    everyone = differential_photometry(reader, GK_CEP, GK_CMP)
    page.observers["novak"].value = False
    without = differential_photometry(reader, GK_CEP, GK_CMP, exclude_observers=["novak"])
    rows = table_rows(page)
    assert cells(rows) == expected_cells(without)
    novak = set(everyone.data.image_id[everyone.data.observer == "novak"])
    assert len(novak) == 19 and len(rows) == len(everyone) - len(novak)
    assert "novak" not in shown_points(page)
    assert page.options()["exclude_observers"] == ["novak"]


def test_the_address_can_leave_observers_out(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}&exclude=novak&exclude=smith")
    assert not page.observers["novak"].value and not page.observers["smith"].value
    assert set(page.curve.data.observer) == {"dvorak", "kowalski", "svoboda"}


@pytest.mark.parametrize(
    "extra, options",
    [
        ("", {}),
        ("&saturated=1", {"include_saturated": True}),
        ("&exclude=Novak&exclude=smith", {"exclude_observers": ["novak", "smith"]}),
        (f"&night_aperture={NIGHT}:3", {"aperture": {NIGHT: 3}}),
        (
            "&aperture=2&saturated=1&exclude=dvorak",
            {"aperture": 2, "include_saturated": True, "exclude_observers": ["dvorak"]},
        ),
    ],
)
def test_the_opening_view_is_the_librarys_curve_from_one_read(reader, extra, options, monkeypatch):
    reads = []
    real = ObjectPage._photometry
    monkeypatch.setattr(
        ObjectPage, "_photometry", lambda self, **o: reads.append(o) or real(self, **o)
    )
    for variable, comparison in [(GK_CEP, GK_CMP), (GK_CEP, BRIGHT)]:
        reads.clear()
        page = open_page(reader, f"variable={variable}&comparison={comparison}{extra}")
        oracle = differential_photometry(reader, variable, comparison, **options)
        assert len(reads) == 1  # the page opened after one read of the light curve
        pd.testing.assert_frame_equal(page.curve.data, oracle.data)
        assert {k: page.curve.meta[k] for k in ("include_saturated", "exclude_observers")} == {
            k: oracle.meta[k] for k in ("include_saturated", "exclude_observers")
        }
        assert cells(table_rows(page)) == expected_cells(oracle)


def _links(page: ObjectPage) -> dict[str, tuple[str, bytes]]:
    """What clicking each link saves now, ``{key: (file name, bytes)}``: the browser's message
    to the kernel and the kernel's answer, as the widget exchanges them."""
    links = page.downloads.links
    answers = []
    links.send = lambda content, buffers=None: answers.append((content, buffers))
    saved = {}
    for key in re.findall(r'data-download="(\w+)"', links.value):
        answers.clear()
        links._on_message(links, {"download": key}, [])
        ((content, buffers),) = answers
        saved[key] = (content["name"], bytes(buffers[0]))
    return saved


def _unstamped(text: str) -> str:
    """The metadata download without its query time (two queries never share one)."""
    return re.sub(r"^Queried at;.*$", "Queried at;", text, flags=re.M)


def test_downloads_are_the_librarys_bytes_for_the_current_choices(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    page.apertures.set_choice("variable", NIGHT, 3)
    page.observers["dvorak"].value = False
    oracle = differential_photometry(
        reader, GK_CEP, GK_CMP, aperture={NIGHT: 3}, exclude_observers=["dvorak"]
    )
    links = _links(page)
    # The files are written when clicked, never carried in the page's state.
    assert "data:" not in page.downloads.links.value and len(page.downloads.links.value) < 1000
    stem = "UCAC4_805-031770-vs-UCAC4_803-032417"
    assert links["txt"] == (f"{stem}.txt", oracle.to_txt().encode())
    assert links["csv"] == (f"{stem}.csv", oracle.to_csv().encode())
    name, data = links["csv_metadata"]
    assert name == f"{stem}-metadata.csv"
    assert 'Variable aperture;"auto; 2021-11-06: 3"' in data.decode()
    assert _unstamped(data.decode()) == _unstamped(oracle.to_csv(metadata=True))
    # AAVSO: one observer's report, once an observer code is typed.
    assert "aavso" not in links and "type your AAVSO observer code" in page.downloads.links.value
    page.downloads.obscode.value = "XYZ"
    assert "choose whose report it is" in page.downloads.links.value
    page.downloads.observer.value = "svoboda"
    name, data = _links(page)["aavso"]
    assert name == f"{stem}-aavso.txt"
    assert data.decode() == oracle.to_aavso(obscode="XYZ", observer="svoboda")
    assert data.decode().startswith("#TYPE=EXTENDED\n#OBSCODE=XYZ\n")
    # A click the kernel cannot answer (no such file) still frees the link.
    answers = []
    page.downloads.links.send = lambda content, buffers=None: answers.append(content)
    page.downloads.links._on_message(None, {"download": "../etc"}, [])
    assert answers == [{}]


def test_aavso_without_a_filter_in_the_headers_asks_for_one(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    data = page.curve.data
    unfiltered = sorted(set(data.observer[data["filter"].isna()]))[0]
    page.downloads.obscode.value = "XYZ"
    page.downloads.observer.value = unfiltered
    assert "not an AAVSO filter code" in page.downloads.links.value
    page.downloads.filter.value = "CV"
    oracle = differential_photometry(reader, GK_CEP, GK_CMP)
    assert _links(page)["aavso"][1].decode() == oracle.to_aavso(
        obscode="XYZ", observer=unfiltered, filter="CV"
    )


def test_find_period_fills_the_period_and_folds_the_curve(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    page.phase.find_period()  # two Fourier terms: GK Cep's two eclipses told apart
    assert page.phase.period.value == pytest.approx(0.936, rel=1e-3)
    oracle = differential_photometry(reader, GK_CEP, GK_CMP).fold(
        page.phase.period.value, epoch=page.phase.epoch.value
    )
    x = np.concatenate([np.asarray(m.x) for m in page.phase.figure.marks if isinstance(m, Scatter)])
    assert len(x) == 2 * len(oracle)
    np.testing.assert_allclose(np.sort(x[x < 1]), np.sort(oracle.data.phase.to_numpy()))
    assert page.phase.epoch.value == pytest.approx(oracle.data.hjd.min(), abs=1e-5)


def test_error_bars_switch_off_and_reset_restores_the_view(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    scale = page.plot.plot.x_scale
    interaction = page.plot.figure.interaction
    assert isinstance(interaction, PanZoom)  # wheel zooms, drag pans, on both axes
    assert interaction.scales == {"x": [scale], "y": [page.plot.plot.y_scale]}
    whole = (scale.min, scale.max)
    day = datetime.timedelta(days=1)
    scale.min, scale.max = whole[0] + day, whole[0] + 2 * day  # as a mouse zoom would
    page.plot.reset_button.click()
    assert (scale.min, scale.max) == whole
    bars = [m for m in page.plot.figure.marks if not isinstance(m, Scatter)]
    assert bars and all(m.visible for m in bars)
    page.plot.errors.value = False
    assert not any(m.visible for m in bars)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        (
            "variable=UCAC4:999-999999&comparison=UCAC4:803-032417",
            "There is no object UCAC4:999-999999 in the catalogue",
        ),
        ("variable=UCAC4:805-031770", "must name a variable star and a comparison star"),
        ("variable=805-031770&comparison=UCAC4:803-032417", "is not an object like"),
        (
            "variable=UCAC4:805-031770&comparison=UCAC4:619-010308",
            "never measured in the same image",
        ),
    ],
)
def test_unknown_objects_and_pairs_without_common_images_get_a_message(reader, query, text):
    shown = object_page(query, conn=reader)
    assert not isinstance(shown, ObjectPage)
    assert "aphos-object-message" in shown._dom_classes and text in shown.value


def test_parse_request_reads_ensembles_and_the_check_star():
    request = parse_request("variable=A:1&comparison=A:2&comparison=A:3&check=A:4")
    assert (request.variable, request.comparisons, request.check) == ("A:1", ["A:2", "A:3"], "A:4")


def test_the_address_can_ask_for_webgl_points(reader):
    from bqplot_gl import ScatterGL

    svg = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    gl = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}&webgl=1")
    assert not any(isinstance(m, ScatterGL) for m in svg.plot.figure.marks)  # 142 < WEBGL_FROM
    gl_marks = [m for m in gl.plot.figure.marks if isinstance(m, ScatterGL)]
    assert sum(len(m.x) for m in gl_marks) == 142


def test_the_phase_plot_waits_for_a_period(reader):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    # No figure at all until there is a period: the page opens without its cost.
    assert not any(isinstance(c, Figure) for c in page.phase.children)
    assert "Type a period" in page.phase.message.value
    page.phase.period.value = 0.936
    assert sum(isinstance(c, Figure) for c in page.phase.children) == 1
    assert sum(len(m.x) for m in page.phase.figure.marks if isinstance(m, Scatter)) == 2 * 142
    assert page.phase.message.value == ""


def test_an_ensemble_and_a_check_star(reader):
    members, check = [GK_CMP, "UCAC4:804-031083"], "UCAC4:805-031804"
    query = f"variable={GK_CEP}&comparison={members[0]}&comparison={members[1]}&check={check}"
    page = open_page(reader, query)
    oracle = differential_photometry(reader, GK_CEP, members, check=check)
    rows = table_rows(page)
    assert cells(rows) == expected_cells(oracle)
    data = oracle.data
    assert [r["check_magnitude"] for r in rows] == [
        "" if np.isnan(m) else f"{m:.4f}" for m in data.check_magnitude
    ]
    # The ensemble's ApAuto is its members' sum, as its flux is.
    assert [r["cmp_ap_auto"] for r in rows] == [
        f"{a + b:.1f}" for a, b in zip(data.cmp1_ap_auto, data.cmp2_ap_auto, strict=True)
    ]
    header = page.children[0].value
    assert "Comparison 1" in header and "Comparison 2" in header and "Check" in header


# --- Whatever the data: one observer, one point, nothing in common, only saturated --------


@pytest.fixture
def odd_reader(odd_catalogue):
    with odd_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def _status_text(page: ObjectPage) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.status.value))


def test_one_observers_curve_opens_with_their_name_chosen_for_the_aavso_report(odd_reader):
    import odd_catalogue as odd

    page = open_page(odd_reader, f"variable={odd.GK_CEP}&comparison={odd.CMP}")
    oracle = differential_photometry(odd_reader, odd.GK_CEP, odd.CMP)
    assert len(oracle) == 3 and set(oracle.data.observer) == {odd.OBSERVER}
    assert len(set(oracle.data.night)) == 1
    assert cells(table_rows(page)) == expected_cells(oracle)
    assert page.plot.plot.points == 3 and _status_text(page) == ""
    # The one observer is the dropdown's only option, and chosen: the bug was that the
    # dropdown refused it ("Invalid selection") and the page never opened.
    assert list(page.downloads.observer.options) == [(odd.OBSERVER, odd.OBSERVER)]
    assert page.downloads.observer.value == odd.OBSERVER
    page.downloads.obscode.value = "XYZ"
    page.downloads.filter.value = "V"  # one of the three images has no Filter header
    assert _links(page)["aavso"][1].decode() == oracle.to_aavso(
        obscode="XYZ", observer=odd.OBSERVER, filter="V"
    )


def test_one_point(odd_reader):
    import odd_catalogue as odd

    page = open_page(odd_reader, f"variable={odd.GK_CEP}&comparison={odd.ONE_POINT}")
    assert len(table_rows(page)) == 1 and page.plot.plot.points == 1
    page.phase.find_period()  # a periodogram needs 3 magnitudes: said, not raised
    assert "at least 3 magnitudes" in page.phase.message.value


def test_only_saturated_points_say_to_show_them(odd_reader):
    import odd_catalogue as odd

    page = open_page(odd_reader, f"variable={odd.GK_CEP}&comparison={odd.SATURATED}")
    assert table_rows(page) == [] and page.plot.plot.points == 0
    assert "All 3 images are saturated: tick 'Show saturated'" in _status_text(page)
    page.saturated.value = True
    assert [r["magnitude"] for r in table_rows(page)] == ["saturated"] * 3
    assert "None of these 3 images gives a magnitude" in _status_text(page)


def test_stars_that_share_no_image_say_to_choose_another_comparison(odd_reader):
    import odd_catalogue as odd

    shown = object_page(f"variable={odd.GK_CEP}&comparison={odd.ELSEWHERE}", conn=odd_reader)
    assert not isinstance(shown, ObjectPage)
    assert "These stars share no image" in shown.value
    assert (
        f'href="search.ipynb?variable={odd.GK_CEP}" target="_top">Choose another '
        "comparison star</a>"
    ) in shown.value


@pytest.mark.parametrize("case", ["cmp", "one_point", "saturated", "ensemble_check"])
@pytest.mark.parametrize("exclude", [False, True])
@pytest.mark.parametrize("saturated", [False, True])
@pytest.mark.parametrize("aperture", [None, ("variable", 3), ("comparison", 10)])
def test_every_choice_on_odd_data_shows_the_librarys_curve_or_says_what_to_do(
    odd_reader, case, exclude, saturated, aperture
):
    import odd_catalogue as odd

    comparison = {
        "cmp": odd.CMP,
        "one_point": odd.ONE_POINT,
        "saturated": odd.SATURATED,
        "ensemble_check": odd.ENSEMBLE,
    }[case]
    check = odd.CHECK if case == "ensemble_check" else None
    query = "&".join(
        [
            f"variable={odd.GK_CEP}",
            *(f"comparison={c}" for c in np.atleast_1d(comparison)),
            *([f"check={check}"] if check else []),
            *([f"exclude={odd.OBSERVER}"] if exclude else []),
        ]
    )
    page = open_page(odd_reader, query)
    page.saturated.value = saturated
    if aperture:
        page.apertures.set_choice(aperture[0], None, aperture[1])
    oracle = differential_photometry(
        odd_reader, odd.GK_CEP, comparison, check=check, **page.options()
    )
    assert cells(table_rows(page)) == expected_cells(oracle)
    assert "aphos-page-failure" not in page.status.value
    points = int(np.isfinite(oracle.data.magnitude).sum())
    assert page.plot.plot.points == points
    assert ("aphos-empty" in page.status.value) == (points == 0)
    if exclude:
        assert "Every observer is left out" in _status_text(page)


@pytest.mark.parametrize("kept", [["svoboda"], [], ["novak", "svoboda"]])
def test_an_address_can_keep_one_observer_or_none(reader, kept):
    everyone = ["dvorak", "kowalski", "novak", "smith", "svoboda"]
    exclude = "".join(f"&exclude={o}" for o in everyone if o not in kept)
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}{exclude}&exclude=nobody")
    assert sorted(set(page.curve.data.observer)) == kept
    assert [name for name, box in page.observers.items() if box.value] == kept
    options = [v for _, v in page.downloads.observer.options]
    assert options == (kept if len(kept) == 1 else ["", *kept])
    assert ("Every observer is left out" in _status_text(page)) == (not kept)


def test_a_failure_is_a_short_message_and_its_traceback_is_logged(reader, monkeypatch, capfd):
    import aphos_lib.widgets.object_page as module

    def broken(*args, **kwargs):
        raise RuntimeError("the catalogue is on fire")

    monkeypatch.setenv("QUERY_STRING", f"variable={GK_CEP}&comparison={GK_CMP}")
    monkeypatch.setattr(module, "differential_photometry", broken)
    shown = object_page(conn=reader)
    page = shown.data
    assert "aphos-page-failure" in page and "could not be shown" in page
    assert "on fire" not in page and "Traceback" not in page
    reference = re.search(r"<code class='aphos-failure-reference'>(\w+)</code>", page).group(1)
    log = capfd.readouterr().err
    assert f"object.ipynb failed (reference {reference}, query 'variable={GK_CEP}" in log
    assert "Traceback" in log and "RuntimeError: the catalogue is on fire" in log


def test_a_failing_redraw_says_so_in_the_page_and_logs_it(reader, monkeypatch, capfd):
    page = open_page(reader, f"variable={GK_CEP}&comparison={GK_CMP}")
    version = page.version
    monkeypatch.setattr(page.table, "show", lambda curve: 1 / 0)
    page.saturated.value = True
    assert page.version == version + 1
    assert "aphos-page-failure" in page.status.value
    assert "ZeroDivisionError" in capfd.readouterr().err
