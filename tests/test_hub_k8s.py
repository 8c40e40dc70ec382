"""The Kubernetes deployment files (Zero to JupyterHub values and the services' manifests).

The chart's own values.schema.json is not available from the package registries this
project uses, so these are structural checks of what APhoS relies on.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from aphos_lib.hub.configurer import DATABASE_ROLE, SERVICE_MODULES, SERVICES
from aphos_lib.hub.dashboards import voila_arguments
from aphos_lib.hub.settings import HubSettings

K8S = Path(__file__).resolve().parents[1] / "hub_config" / "k8s"
# Top-level sections of the jupyterhub chart 4.x values.
CHART_SECTIONS = {
    "fullnameOverride",
    "nameOverride",
    "enabled",
    "apps",
    "imagePullSecret",
    "imagePullSecrets",
    "hub",
    "rbac",
    "proxy",
    "singleuser",
    "scheduling",
    "ingress",
    "prePuller",
    "custom",
    "cull",
    "debug",
    "global",
}


def values() -> dict:
    return yaml.safe_load((K8S / "values.yaml").read_text())


def manifests() -> list[dict]:
    return list(yaml.safe_load_all((K8S / "services.yaml").read_text()))


def secret_key(env: list[dict], name: str) -> str:
    entry = next(e for e in env if e["name"] == name)
    return entry["valueFrom"]["secretKeyRef"]["key"]


def test_values_use_the_chart_sections_and_kubespawner():
    v = values()
    assert set(v) <= CHART_SECTIONS
    assert "spawner_class" not in str(v["hub"].get("config", {}))  # the chart's KubeSpawner
    assert v["hub"]["db"]["type"] == "postgres"
    assert v["cull"]["enabled"] is True
    # The hub's extra configuration is Python that at least compiles.
    for source in v["hub"]["extraConfig"].values():
        compile(source, "extraConfig", "exec")


def test_no_secret_is_written_in_the_files():
    env = values()["hub"]["extraEnv"]
    for name in ("APHOS_GOOGLE_CLIENT_ID", "APHOS_GOOGLE_CLIENT_SECRET", "HUB_DB_URL"):
        assert "secretKeyRef" in env[name]["valueFrom"]
    assert "postgresql://" not in (K8S / "values.yaml").read_text()
    assert "postgresql://" not in (K8S / "services.yaml").read_text()


def test_every_service_has_a_deployment_with_its_database_role():
    services = values()["hub"]["services"]
    assert set(services) == set(SERVICES)
    docs = manifests()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    kube_services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    for name in SERVICES:
        deployment = deployments[f"aphos-{name}"]
        assert f"aphos-{name}" in kube_services
        assert services[name]["url"] == f"http://aphos-{name}:8000"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = container["env"]
        assert secret_key(env, "APHOS_DATABASE_URL") == f"{DATABASE_ROLE[name]}-url"
        assert secret_key(env, "JUPYTERHUB_API_TOKEN") == f"hub.services.{name}.apiToken"
        assert container["command"][:3] == ["python", "-m", SERVICE_MODULES[name]]
    dashboards = deployments["aphos-dashboards"]["spec"]["template"]["spec"]["containers"][0]
    assert dashboards["command"] == [
        "python",
        "-m",
        "aphos_lib.hub.dashboards",
        *voila_arguments(
            Path("/srv/aphos/dashboards"),
            port=8000,
            idle_timeout=300,
            pool_size=HubSettings.dashboard_kernel_pool,
            base_url="/services/dashboards/",
            ip="0.0.0.0",
        ),
    ]
    # A page's kernel lives in the process that served it: one replica (no sticky routing).
    assert deployments["aphos-dashboards"]["spec"]["replicas"] == 1


def test_workspaces_get_only_the_read_only_role():
    env = values()["singleuser"]["extraEnv"]
    for name in ("APHOS_DATABASE_URL", "APHOS_DATABASE_URL_WRITER", "APHOS_DATABASE_URL_READER"):
        assert env[name]["valueFrom"]["secretKeyRef"]["key"] == "reader-url"


def test_the_published_area_is_read_only_in_workspaces_and_written_by_the_api():
    mounts = values()["singleuser"]["storage"]["extraVolumeMounts"]
    assert [(m["name"], m["readOnly"]) for m in mounts] == [("published", True)]
    api = next(
        d for d in manifests() if d["metadata"]["name"] == "aphos-api" and d["kind"] == "Deployment"
    )
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert [m.get("readOnly", False) for m in container["volumeMounts"]] == [False]
