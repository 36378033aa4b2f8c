"""Deployment artifacts of a version: `docker-compose.yml` and a Kustomize tree (issue 10).

Pure functions over a version's facts (`facts.py`): the gateway builds the facts from the
catalog and the builder and serves the archives (`/v1/models/{owner}/{name}/versions/{v}/deploy/
{kind}`); `modelbay deploy` fetches them from there (the SDK imports nothing of this package).
docs/deploy-models.md describes the files.
"""

from modelbay_common.deployment.archive import (
    ArchiveFormat,
    DeployKind,
    deployment_archive,
    deployment_files,
)
from modelbay_common.deployment.compose import COMPOSE_FILE, compose_document
from modelbay_common.deployment.facts import (
    CONTAINER_PORT,
    DEPLOYMENT_LABEL,
    FACTS_FILE,
    Container,
    DeploymentFacts,
    DeploymentNotPossible,
    NodeImage,
    Resources,
    model_deployment,
    pinned_image,
    resources_for,
    solution_deployment,
)
from modelbay_common.deployment.kustomize import OVERLAYS, kustomize_files

__all__ = [
    "COMPOSE_FILE",
    "CONTAINER_PORT",
    "DEPLOYMENT_LABEL",
    "FACTS_FILE",
    "OVERLAYS",
    "ArchiveFormat",
    "Container",
    "DeployKind",
    "DeploymentFacts",
    "DeploymentNotPossible",
    "NodeImage",
    "Resources",
    "compose_document",
    "deployment_archive",
    "deployment_files",
    "kustomize_files",
    "model_deployment",
    "pinned_image",
    "resources_for",
    "solution_deployment",
]
