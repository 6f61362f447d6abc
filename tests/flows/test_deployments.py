"""`tamma deploy` registers the deployments defined in code; prefect.yaml describes the same ones
for `prefect deploy --all` in a checkout. The two must not drift apart."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows.deployments import DEPLOYMENTS, TAGS, DeploymentSpec

ROOT = Path(__file__).resolve().parents[2]


def prefect_yaml_deployments() -> dict[str, dict[str, object]]:
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return {entry["name"]: entry for entry in document["deployments"]}


def test_prefect_yaml_lists_the_deployments_tamma_deploy_registers() -> None:
    assert sorted(prefect_yaml_deployments()) == sorted(spec.name for spec in DEPLOYMENTS)


@pytest.mark.parametrize("spec", DEPLOYMENTS, ids=lambda spec: spec.name)
def test_each_deployment_reads_the_same_in_both(
    spec: DeploymentSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMMA_SWEEP_REPO", "github:acme/shop")
    entry = prefect_yaml_deployments()[spec.name]
    module, function = spec.module.split(":")
    assert entry["entrypoint"] == f"{module.replace('.', '/')}.py:{function}"
    assert entry["description"] == spec.description
    assert entry["tags"] == list(TAGS)
    assert entry["work_pool"] == {"name": "tamma"}
    yaml_parameters = {
        name: "github:acme/shop" if value == "{{ $TAMMA_SWEEP_REPO }}" else value
        for name, value in dict(entry.get("parameters") or {}).items()
    }
    assert yaml_parameters == spec.parameters_now()
    schedules = [(s["cron"], s["timezone"], s["active"]) for s in entry.get("schedules") or []]
    assert schedules == ([(spec.cron, "UTC", True)] if spec.cron else [])


def test_an_unset_sweep_repository_falls_back_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAMMA_SWEEP_REPO", raising=False)
    sweep = next(spec for spec in DEPLOYMENTS if spec.name == "backlog-sweep")
    assert sweep.parameters_now()["repo"] == "local:demo"
