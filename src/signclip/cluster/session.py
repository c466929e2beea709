"""Starting or joining Ray for a command: a local Ray on this machine, or a cluster at `address`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from signclip.errors import SignclipError

INSTALL_HINT = "the ray engine needs Ray: pip install 'signclip[cluster]'"
# Actors that die (a killed worker process, a lost node) are restarted and their batch retried this many
# times; after that the run stops with Ray's error. (Ray Data's own default retries forever, which a video
# that crashes MediaPipe every time would turn into a hang.) Passed as ray_remote_args, which Ray 2.64
# removes: the `cluster` extra pins ray below it.
MAX_RETRIES = 3


@dataclass(frozen=True)
class RayOptions:
    """Where Ray runs: `address` None starts a local Ray with `num_cpus` (default: all) for this command;
    "auto" or "ray://host:10001" or "host:6379" joins a running cluster (`ray start --head` there)."""

    address: str | None = None
    num_cpus: int | None = None


def import_ray() -> Any:
    """Return the `ray` module, or raise SignclipError saying how to install it."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise SignclipError(INSTALL_HINT) from None
    return ray


@contextlib.contextmanager
def ray_session(options: RayOptions) -> Iterator[Any]:
    """Connect to (or start) Ray for the length of the block; yields the `ray` module.

    A Ray that this process already joined is reused and left running; one started here is shut down.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    arguments: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
    if options.address is None:
        arguments["num_cpus"] = options.num_cpus
    try:
        ray.init(address=options.address, **arguments)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = options.address or "a local Ray"
        raise SignclipError(f"could not start or join {where}: {error}") from None
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context.max_errored_blocks = -1  # a failed input is reported by us, not fatal to the run
        yield ray
    finally:
        ray.shutdown()


def cluster_gpus(ray: Any) -> int:
    """The GPUs the connected Ray cluster has (0 on a CPU-only machine)."""
    return int(ray.cluster_resources().get("GPU", 0))


def map_with_actors(
    dataset: Any, actor: type, arguments: tuple, actors: int, batch_size: int, gpus_per_actor: float = 0.0
) -> Any:
    """`dataset.map_batches(actor)` on a pool of `actors` actors built with `arguments`, numpy batches of
    `batch_size` rows, one CPU (or `gpus_per_actor` GPUs) each, restarted and retried MAX_RETRIES times."""
    import warnings

    ray = import_ray()
    resources = {"num_gpus": gpus_per_actor} if gpus_per_actor else {"num_cpus": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ray_remote_args, until Ray 2.64 (see MAX_RETRIES)
        return dataset.map_batches(
            actor,
            fn_constructor_args=arguments,
            batch_size=batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=max(1, actors)),
            max_restarts=MAX_RETRIES,
            max_task_retries=MAX_RETRIES,
            **resources,
        )
