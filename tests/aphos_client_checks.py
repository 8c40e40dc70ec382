"""Run by the original APhoS Python client's own virtual environment (aphos-openapi 2.5.3).

    python aphos_client_checks.py SERVER_URL OUT_DIR

Calls the client's helpers against SERVER_URL and prints one JSON document with what they
returned, for tests/test_rest_compat.py to check against aphos_lib. Kept free of anything
but the client and the standard library: it runs under Python 3.11 with astropy 5.2.
"""

import datetime
import json
import math
import sys

import aphos_openapi
from aphos_openapi import aphos
from aphos_openapi.models.coordinates import Coordinates
from aphos_openapi.models.graph_data import GraphData


def number(value):
    return None if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else value


def main(server: str, out_dir: str) -> None:
    aphos_openapi.Configuration.set_default(aphos_openapi.Configuration(host=server))
    report = {"catalogs": aphos.get_catalogs()}

    gk = aphos.get_object("805-031770")
    report["object"] = {
        "id": gk.id,
        "name": gk.name,
        "catalog": gk.catalog,
        "rightAsc": gk.right_asc,
        "declination": gk.declination,
        "magnitude": gk.magnitude,
        "fluxesCount": gk.fluxes_count,
        "fluxes": len(gk.fluxes),
        "firstApAuto": number(gk.fluxes[0].ap_auto),
        "firstAddedBy": gk.fluxes[0].added_by,
    }
    report["missing_object"] = aphos.get_object("000-000000") is None

    def ids(objects):
        return None if objects is None else sorted(o.id for o in objects)

    cone = Coordinates("21 30 59.15 +70 49 23.58", 10, radius_unit="m")
    report["by_name"] = ids(aphos.get_objects_by_params(name="GK Cep"))
    report["by_magnitude"] = ids(aphos.get_objects_by_params(min_mag=11.5, max_mag=11.7))
    report["by_cone"] = ids(aphos.get_objects_by_params(coordinates=cone))
    report["by_everything"] = ids(
        aphos.get_objects_by_params(
            object_id="805-031770",
            catalog="UCAC4",
            name="GK",
            coordinates=cone,
            min_mag=8,
            max_mag=9,
        )
    )
    report["unfiltered"] = len(aphos.get_objects_by_params())

    comparison = aphos.get_var_cmp_by_ids("805-031770", "803-032417")
    report["comparison"] = {
        "variable": comparison.variable.id,
        "comparison": comparison.comparison.id,
        "rows": len(comparison.data),
        "magnitudes": [number(f.magnitude) for f in comparison.data],
        "deviations": [number(f.deviation) for f in comparison.data],
        "nights": [f.night.first_date_of_the_night for f in comparison.data],
        "users": [f.username for f in comparison.data],
    }
    first_night = datetime.datetime.strptime(
        comparison.data[0].night.first_date_of_the_night, "%d-%m-%Y"
    ).date()
    aphos.set_var_cmp_apertures(comparison, first_night, var=2, cmp=3)
    report["apertures_set"] = {
        "night": first_night.isoformat(),
        "magnitudes": [number(f.magnitude) for f in comparison.data],
        "used": [[f.night.ap_to_be_used, f.night.cmp_ap_to_be_used] for f in comparison.data],
    }

    novak = aphos.get_user("novak")
    report["user"] = {"username": novak.username, "description": novak.description}
    report["missing_user"] = aphos.get_user("nobody-at-all") is None

    graph = GraphData(aphos.get_var_cmp_by_ids("805-031770", "803-032417"))
    path = f"{out_dir}/graph.csv"
    graph.to_file(path)
    report["graph_file"] = path
    report["graph_points"] = len(graph.data_list)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
