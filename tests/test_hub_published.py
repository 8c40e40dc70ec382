"""The published area: valid notebooks only, in the publisher's own folder, written whole."""

from __future__ import annotations

import nbformat
import pytest

from aphos_lib.hub.published import (
    InvalidNotebook,
    list_published,
    publish,
    read_published,
    rename_publisher,
    unpublish,
)


def notebook_bytes(text: str = "print('GK Cep')") -> bytes:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    return nbformat.writes(nb).encode()


def test_publish_list_read_replace_and_remove(tmp_path):
    path = publish(tmp_path, "novak", "gk_cep.ipynb", notebook_bytes())
    assert path == tmp_path / "novak" / "gk_cep.ipynb" and oct(path.stat().st_mode)[-3:] == "444"
    publish(tmp_path, "novak", "gk_cep.ipynb", notebook_bytes("print(2)"))  # replaced whole
    assert "print(2)" in read_published(tmp_path, "novak", "gk_cep.ipynb").decode()
    assert [(p["username"], p["name"]) for p in list_published(tmp_path)] == [
        ("novak", "gk_cep.ipynb")]  # fmt: skip
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
