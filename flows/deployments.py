"""The scheduled refresh: a Prefect deployment of `refresh` on a cron schedule (UTC), one run
at a time (a run due while another runs waits for it: concurrency limit 1, enqueue)."""

from __future__ import annotations

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment

from flows.refresh import refresh

DEPLOYMENT_NAME = "multicentre-refresh"
DEFAULT_CRON = "0 2 * * *"
SCHEDULE_TIMEZONE = "UTC"
# One refresh at a time: a second run waits in AwaitingConcurrencySlot until the first ends.
CONCURRENCY = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def checked_cron(cron: str) -> str:
    """The cron expression, or ValueError in one line when Prefect cannot read it."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron, timezone=SCHEDULE_TIMEZONE)
    except ValidationError as exc:
        reason = "; ".join(e["msg"] for e in exc.errors())
        raise ValueError(f"not a cron schedule: {cron!r} ({reason}); e.g. '0 2 * * *' is "
                         "02:00 UTC every night") from None
    return cron


def build_refresh_deployment(cron: str = DEFAULT_CRON, data_dir: str | None = None
                             ) -> RunnerDeployment:
    """The refresh deployment with its cron schedule, data directory parameter and a
    concurrency limit of one run."""
    return refresh.to_deployment(
        name=DEPLOYMENT_NAME,
        cron=checked_cron(cron),
        parameters={"data_dir": data_dir} if data_dir else {},
        concurrency_limit=CONCURRENCY,
        description="Nightly multicentre refresh: load new site extracts, validate, score ECGs, "
                    "rerun the study analyses and publish a release.",
        tags=["imnm", "refresh"],
    )


def serve_refresh(cron: str = DEFAULT_CRON, data_dir: str | None = None) -> None:
    """Register the deployment and run its schedule in this process until interrupted."""
    from prefect import serve

    serve(build_refresh_deployment(cron, data_dir))
