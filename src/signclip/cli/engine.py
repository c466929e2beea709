"""`--engine pool|ray` and `--ray-address` for the commands that extract and embed in bulk."""

from __future__ import annotations

import argparse


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --engine and --ray-address to `parser`."""
    parser.add_argument(
        "--engine",
        choices=["pool", "ray"],
        default="pool",
        help="pool: local worker processes (default); ray: Ray Data actors, on a local Ray or a cluster "
        "(pip install 'signclip[cluster]')",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="join this Ray cluster (auto, HOST:6379 or ray://HOST:10001); default: start a local Ray",
    )


def ray_options(args: argparse.Namespace):
    """The RayOptions of --ray-address, after checking that Ray is installed (SignclipError otherwise)."""
    from signclip.cluster.session import RayOptions, import_ray

    import_ray()
    return RayOptions(address=args.ray_address)
