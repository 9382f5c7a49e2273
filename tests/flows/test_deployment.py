"""The scheduled refresh: the deployment exists in Prefect with its cron schedule."""

from __future__ import annotations

import asyncio

from flows.deployments import DEFAULT_CRON, DEPLOYMENT_NAME, build_refresh_deployment


def test_refresh_deployment_is_registered_with_its_schedule(prefect_harness: None) -> None:
    from prefect.client.orchestration import get_client

    deployment = build_refresh_deployment(cron="30 3 * * 1-5", data_dir="/srv/imnm")
    deployment_id = deployment.apply()

    async def read():
        async with get_client() as client:
            return await client.read_deployment(deployment_id)

    stored = asyncio.run(read())
    assert stored.name == DEPLOYMENT_NAME
    assert stored.parameters == {"data_dir": "/srv/imnm"}
    crons = [s.schedule.cron for s in stored.schedules]
    assert crons == ["30 3 * * 1-5"]
    assert all(s.active for s in stored.schedules)


def test_default_schedule_is_nightly() -> None:
    """The default schedule fires at 02:00 UTC every night (README.md: "0 2 * * *")."""
    from datetime import UTC, datetime, timedelta

    from prefect.server.schemas.schedules import CronSchedule

    (schedule,) = [s.schedule for s in build_refresh_deployment().schedules]
    assert schedule.cron == DEFAULT_CRON
    # Prefect's own reading of the schedule (timezone and day_or included) gives the fire times.
    start = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)  # ten nights across Europe's DST change
    fires = [f.astimezone(UTC) for f in
             asyncio.run(CronSchedule(**schedule.model_dump()).get_dates(n=10, start=start))]
    assert [(f.hour, f.minute, f.second) for f in fires] == [(2, 0, 0)] * 10
    assert [f.date() for f in fires] == [start.date() + timedelta(days=d) for d in range(1, 11)]
