"""Observer profiles on a real catalogue: usernames, ownership, uploads (no hub needed)."""

from __future__ import annotations

import pytest

from aphos_lib.ingest import ingest_files
from aphos_lib.observers import InvalidUsername, ensure_local_observer
from aphos_lib.web.profiles import (
    UsernameTaken,
    profile_by_hub_user,
    public_profile,
    save_profile,
)

from conftest import fixture_path

pytestmark = pytest.mark.catalogue


def test_first_profile_then_edit_keeps_the_identity(writer):
    assert profile_by_hub_user(writer, "google-1001") is None
    first = save_profile(writer, "google-1001", "Alice_W", "  CCD from Brno  ")
    assert (first.username, first.description) == ("Alice_W", "CCD from Brno")
    again = save_profile(writer, "google-1001", "alice", "moved")
    assert again.id == first.id and again.username == "alice"
    row = writer.execute(
        "SELECT provider, subject, hub_user FROM observer WHERE id = %s", (first.id,)
    ).fetchone()
    assert row == ("google", "1001", "google-1001")


def test_usernames_are_unique_whatever_the_case_and_validated(writer):
    save_profile(writer, "google-1001", "Novak")
    with pytest.raises(UsernameTaken):
        save_profile(writer, "google-1002", "NOVAK")
    with pytest.raises(InvalidUsername):
        save_profile(writer, "google-1002", "x")
    with pytest.raises(InvalidUsername):
        save_profile(writer, "google-1002", "ok_name", "d" * 2001)
    assert profile_by_hub_user(writer, "google-1002") is None


def test_a_local_sign_in_takes_over_its_command_line_observer_google_never(writer):
    observer_id = ensure_local_observer(writer, "svoboda")
    with pytest.raises(UsernameTaken):
        save_profile(writer, "google-1003", "svoboda")
    assert save_profile(writer, "local-svoboda", "Svoboda").id == observer_id


def test_public_profile_lists_uploads(catalogue, writer):
    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    profile = public_profile(writer, "NOVAK")
    assert profile.username == "novak" and len(profile.recent_uploads) == 1
    upload = profile.recent_uploads[0]
    assert upload["files"] == 1 and upload["stored"] == 1 and upload["fluxes"] > 0
    assert public_profile(writer, "nobody") is None
