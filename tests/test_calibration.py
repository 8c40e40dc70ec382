"""Photometric solutions of stored images (migration 0019): what the demo generator used comes
back from the catalogue, the ingest and the migration fit the same, real files get one."""

from __future__ import annotations

import numpy as np
import pytest
from alembic import command

from aphos_lib.calibration import solutions_of
from aphos_lib.db.migrate import alembic_config, head_revision, upgrade
from aphos_lib.ingest import ingest_files
from aphos_lib.io.sips import read_sips
from aphos_lib.photometric_solution import MAX_FIT_STARS, image_solutions

from conftest import fixture_path


def _solutions_by_file(conn) -> dict[str, dict[int, object]]:
    rows = conn.execute("SELECT id, filename FROM image").fetchall()
    solved = solutions_of(conn, [r[0] for r in rows])
    by_file: dict[str, dict[int, object]] = {}
    for (image_id, aperture), solution in solved.items():
        by_file.setdefault(next(f for i, f in rows if i == image_id), {})[aperture] = solution
    return by_file


def test_each_demo_image_gives_back_the_zero_point_and_colour_term_it_was_made_with(
    demo_catalogue, demo_files
):
    """Per image and aperture against the generator's truth: the zero point at the fitted
    stars' median colour and the colour term. The small apertures observers use (ApAuto,
    Ap1-Ap3) to 0.01 and 0.02 mag; every aperture within the errors it states."""
    _, manifest = demo_files
    with demo_catalogue.connect("reader") as conn:
        by_file = _solutions_by_file(conn)
    small, pulls, zero_point_errors = [], [], []
    for info in manifest.files:
        solutions = by_file[info.path.rsplit("/", 1)[1]]
        apertures = manifest.observer(info.observer).apertures
        assert sorted(solutions) == list(range(apertures + 1))  # ApAuto and every Ap<k>
        for aperture, truth in enumerate(info.zero_points):
            s = solutions[aperture]
            assert s.n_stars >= 50 and s.colour_term is not None
            truth_at_ref = truth + info.colour_term * s.colour_ref
            zero_point_errors.append(abs(s.zero_point - truth_at_ref))
            pulls.append((s.zero_point - truth_at_ref) / s.zero_point_err)
            pulls.append((s.colour_term - info.colour_term) / s.colour_term_err)
            if aperture <= 3:
                small.append((s.zero_point - truth_at_ref, s.colour_term - info.colour_term))
    small = np.abs(np.array(small))
    pulls = np.abs(np.array(pulls))
    print(
        f"ApAuto-Ap3, {len(small)} solutions: |zero point error| median "
        f"{np.median(small[:, 0]):.4f}, 99% {np.percentile(small[:, 0], 99):.4f}, max "
        f"{small[:, 0].max():.4f}; |colour term error| median {np.median(small[:, 1]):.4f}, "
        f"max {small[:, 1].max():.4f}; every aperture ({len(zero_point_errors)}): zero point "
        f"error max {max(zero_point_errors):.4f}, pulls within 2 sigma "
        f"{np.mean(pulls <= 2):.3f}, within 3 sigma {np.mean(pulls <= 3):.3f}"
    )
    assert np.mean(small[:, 0] < 0.01) >= 0.99 and small[:, 0].max() < 0.015
    assert small[:, 1].max() < 0.02
    # The stated errors hold the truth as often as they should (2 sigma: 95%).
    assert 0.93 <= np.mean(pulls <= 2) and np.mean(pulls <= 3) >= 0.99


def test_the_migration_fits_stored_images_as_the_ingest_does(catalogue):
    paths = [fixture_path("correct_file.csv"), fixture_path("correct_file_shorter_header.csv")]
    assert [o.status for o in ingest_files(catalogue, paths, observer="novak")] == ["stored"] * 2
    with catalogue.connect("reader") as conn:
        ingested = _solutions_by_file(conn)
    assert {f: sorted(s) for f, s in ingested.items()} == {
        "correct_file.csv": list(range(11)),
        "correct_file_shorter_header.csv": list(range(11)),
    }
    command.downgrade(alembic_config(catalogue), "0018")
    assert upgrade(catalogue) == head_revision()
    with catalogue.connect("reader") as conn:
        migrated = _solutions_by_file(conn)
    assert migrated.keys() == ingested.keys()
    for name, solutions in ingested.items():
        for aperture, solution in solutions.items():
            again = migrated[name][aperture].to_dict()
            assert again == pytest.approx(solution.to_dict(), rel=1e-9, abs=1e-12), (name, aperture)


def test_a_real_export_gets_a_solution_in_every_aperture():
    sips = read_sips(fixture_path("correct_file.csv"))
    solutions = image_solutions(sips.rows, sips.apertures)
    assert sorted(solutions) == list(range(sips.apertures + 1))
    best = min(solutions.values(), key=lambda s: s.rms)
    # 400 of the file's 2,013 catalogue matches, evenly over V 7.7-12, a few clipped.
    assert 350 <= best.n_stars <= MAX_FIT_STARS and best.mag_min < 8 and best.mag_max > 11.9
    assert best.zero_point_err < 0.01 and best.colour_term is not None


def test_cameras_with_colour_terms_give_them_back(tmp_path, monkeypatch):
    """The generator with the colour terms of V filters on CCDs (-0.08 to +0.10): each file's
    solutions, fitted from the file alone, give back its zero points and its camera's term."""
    import dataclasses

    from aphos_lib.demo import generate_demo_data, generator

    terms = dict(zip(generator.CAMERAS, (0.06, -0.04, 0.10, -0.08, 0.03), strict=True))
    monkeypatch.setattr(
        generator,
        "CAMERAS",
        {k: dataclasses.replace(c, colour_term=terms[k]) for k, c in generator.CAMERAS.items()},
    )
    manifest = generate_demo_data(tmp_path, seed=7, images=60)
    zero_points, colour_terms = [], []
    for info in manifest.files:
        assert info.colour_term == terms[info.observer]
        sips = read_sips(tmp_path / info.path)
        solutions = image_solutions(sips.rows, sips.apertures)
        for aperture, truth in enumerate(info.zero_points[:4]):  # ApAuto, Ap1-Ap3
            s = solutions[aperture]
            zero_points.append(s.zero_point - (truth + info.colour_term * s.colour_ref))
            colour_terms.append(s.colour_term - info.colour_term)
    zero_points, colour_terms = np.abs(zero_points), np.abs(colour_terms)
    print(
        f"{len(zero_points)} solutions: |zero point error| median {np.median(zero_points):.4f},"
        f" max {zero_points.max():.4f}; |colour term error| median"
        f" {np.median(colour_terms):.4f}, max {colour_terms.max():.4f}"
    )
    assert np.mean(zero_points < 0.01) >= 0.99 and zero_points.max() < 0.015
    assert colour_terms.max() < 0.02
