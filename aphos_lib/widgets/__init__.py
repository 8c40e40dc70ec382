"""Dashboard widgets (ipywidgets + bqplot): the logic behind the Voila pages in ``dashboards/``.

Each page's module is imported on its own (``from aphos_lib.widgets.search import ...``), so
this package stays cheap to import.
"""
