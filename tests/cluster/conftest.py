"""One local 2-CPU Ray for the cluster tests (started once per session, shut down at the end)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_local():
    pytest.importorskip("ray")
    from signclip.cluster.session import RayOptions, ray_session

    with ray_session(RayOptions(num_cpus=2)) as ray:
        yield ray
