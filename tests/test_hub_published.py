"""The published area: valid notebooks only, in the publisher's own folder, written whole."""

from __future__ import annotations

import http.client
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from upload_service import environment, serve_api

from aphos_lib.web.published import (
    InvalidNotebook,
    list_published,
    publish,
    read_published,
    rename_publisher,
    unpublish,
)

from conftest import make_home


def notebook_bytes(text: str = "print('GK Cep')") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    return nbformat.writes(nb).encode()


def test_publish_list_read_replace_and_remove(tmp_path):
    path = publish(tmp_path, "novak", "gk_cep.ipynb", notebook_bytes())
    assert path == tmp_path / "novak" / "gk_cep.ipynb" and oct(path.stat().st_mode)[-3:] == "444"
    publish(tmp_path, "novak", "gk_cep.ipynb", notebook_bytes("print(2)"))  # replaced whole
    assert "print(2)" in read_published(tmp_path, "novak", "gk_cep.ipynb").decode()
    assert [(p["username"], p["name"]) for p in list_published(tmp_path)] == [
        ("novak", "gk_cep.ipynb")
    ]
    assert not list(tmp_path.glob("novak/.publishing-*"))
    rename_publisher(tmp_path, "novak", "Novak_J")
    assert read_published(tmp_path, "Novak_J", "gk_cep.ipynb") is not None
    assert unpublish(tmp_path, "Novak_J", "gk_cep.ipynb") is True
    assert unpublish(tmp_path, "Novak_J", "gk_cep.ipynb") is False
    assert list_published(tmp_path) == [] and list_published(tmp_path / "none") == []


@pytest.mark.parametrize("name", ["../x.ipynb", "a/b.ipynb", ".hidden.ipynb", "x.py", "x..ipynb"])
def test_names_that_could_leave_the_folder_are_refused(tmp_path, name):
    with pytest.raises(InvalidNotebook):
        publish(tmp_path, "novak", name, notebook_bytes())


@pytest.mark.parametrize("content", [b"not json", b'{"cells": 3}', "Ř".encode("cp1250")])
def test_only_valid_notebooks_are_published(tmp_path, content):
    with pytest.raises(InvalidNotebook):
        publish(tmp_path, "novak", "x.ipynb", content)
    assert list_published(tmp_path) == []


@pytest.mark.parametrize("username", ["..", ".", "a/..", "../novak", "%2e%2e", ""])
def test_a_username_that_could_leave_the_area_is_refused(tmp_path, username):
    (tmp_path / "area").mkdir()
    (tmp_path / "x.ipynb").write_bytes(notebook_bytes("secret"))
    with pytest.raises(InvalidNotebook):
        read_published(tmp_path / "area", username, "x.ipynb")


def test_a_notebook_that_is_a_link_out_of_the_folder_is_not_served(tmp_path):
    publish(tmp_path / "area", "novak", "gk_cep.ipynb", notebook_bytes())
    (tmp_path / "x.ipynb").write_bytes(notebook_bytes("secret"))
    (tmp_path / "area" / "novak" / "link.ipynb").symlink_to(tmp_path / "x.ipynb")
    with pytest.raises(InvalidNotebook):
        read_published(tmp_path / "area", "novak", "link.ipynb")


@pytest.fixture(scope="module")
def api(embedded_server) -> Iterator[tuple[str, Path]]:
    """The api service on a loopback port, its published area in a fresh APHOS_HOME."""
    home = make_home("aphos-published-")
    catalogue, dbname = embedded_server.clone()
    try:
        with environment(APHOS_HOME=str(home)), serve_api(catalogue, home) as url:
            yield url, home
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.catalogue
@pytest.mark.parametrize(
    "path",
    [
        "%2e%2e/x.ipynb",
        "%2E%2E/x.ipynb",
        "..%2fx.ipynb",
        "Alice/..%2f..%2fx.ipynb",
        "Alice%2f..%2f..%2fx.ipynb",
        "%2e%2e%2fx.ipynb",
        "Alice/%2e%2e%2f%2e%2e%2fx.ipynb",
        "%252e%252e/x.ipynb",
        "Alice%252f..%252f..%252fx.ipynb",
        "../x.ipynb",
        "Alice/../../x.ipynb",
    ],
)
def test_encoded_paths_never_read_outside_the_published_area(api, path):
    url, home = api
    publish(home / "published", "Alice", "gk_cep.ipynb", notebook_bytes("shared"))
    (home / "x.ipynb").write_bytes(notebook_bytes("secret one level up"))
    (home / "published" / "x.ipynb").write_bytes(notebook_bytes("secret at the top"))
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        # Sent byte for byte: an HTTP library would normalise the dots itself.
        conn.request("GET", "/services/api/published/" + path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status in (400, 404, 405), (path, response.status)
    assert b"secret" not in body
    ok = httpx.get(url + "/services/api/published/Alice/gk_cep.ipynb")
    assert ok.status_code == 200 and b"shared" in ok.content
