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
    deployment = build_refresh_deployment()
    assert [s.schedule.cron for s in deployment.schedules] == [DEFAULT_CRON]
