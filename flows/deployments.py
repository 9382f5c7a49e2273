"""The scheduled refresh: a Prefect deployment of `refresh` on a cron schedule."""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment

from flows.refresh import refresh

DEPLOYMENT_NAME = "multicentre-refresh"
DEFAULT_CRON = "0 2 * * *"


def build_refresh_deployment(cron: str = DEFAULT_CRON, data_dir: str | None = None
                             ) -> RunnerDeployment:
    """The refresh deployment with its cron schedule and data directory parameter."""
    return refresh.to_deployment(
        name=DEPLOYMENT_NAME,
        cron=cron,
        parameters={"data_dir": data_dir} if data_dir else {},
        description="Nightly multicentre refresh: load new site extracts, validate, score ECGs, "
                    "rerun the study analyses and publish a release.",
        tags=["imnm", "refresh"],
    )


def serve_refresh(cron: str = DEFAULT_CRON, data_dir: str | None = None) -> None:
    """Register the deployment and run its schedule in this process until interrupted."""
    from prefect import serve

    serve(build_refresh_deployment(cron, data_dir))
