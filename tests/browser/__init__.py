"""Browser tests, a package so that their conftest is ``browser.conftest``.

Without it both conftest files would be imported as ``conftest``, and the tests collected
after this folder would import the wrong one (``from conftest import ...``).
"""
