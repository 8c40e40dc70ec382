"""Demo data: SIPS exports of several observers with variable stars of known parameters.

>>> from pathlib import Path
>>> from aphos_lib.demo import generate_demo_data, DemoManifest
>>> manifest = generate_demo_data(Path("demo-data"), seed=1, images=300)  # doctest: +SKIP
>>> DemoManifest.load(Path("demo-data")).field("gk_cep").target_catalog_id  # doctest: +SKIP
'805-031770'
"""

from aphos_lib.demo.generator import generate_demo_data
from aphos_lib.demo.manifest import DemoManifest

__all__ = ["DemoManifest", "generate_demo_data"]
