"""`signclip serve`: the HTTP API and the search page (uvicorn running signclip.serve.app)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from signclip.cli.wording import DATABASE_URL_HELP, EF_SEARCH_HELP


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the serve command to the CLI."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the embedding and search API and the search page",
        description="Serve the embedding and search API and the search page. Flags override --config.",
    )
    parser.add_argument("--config", metavar="YAML", help="settings file (see the README); flags override it")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, help="port (default 3030)")
    parser.add_argument("--workers", type=int, help="worker processes, each loading the models (default 1)")
    parser.add_argument(
        "--model",
        action="append",
        metavar="M",
        help="model directory or registered name, optionally ALIAS=PATH; repeat for more (first = default)",
    )
    parser.add_argument("--api-key", help="key that data-changing endpoints require (X-API-Key header)")
    parser.add_argument(
        "--cors-origin", action="append", metavar="O", help="origin allowed to call the API from a browser; repeat"
    )
    parser.add_argument("--database-url", metavar="URL", help=DATABASE_URL_HELP)
    parser.add_argument("--home", help="signclip data folder of the embedded server (default $SIGNCLIP_HOME)")
    parser.add_argument("--max-upload-mb", type=float, help="largest uploaded file, in MiB (default 50)")
    parser.add_argument("--request-timeout", type=float, metavar="SECONDS", help="time limit per request (120)")
    parser.add_argument(
        "--max-batch", type=int, metavar="N", help="most texts or poses in one shared forward pass (32; 1: no batching)"
    )
    parser.add_argument(
        "--max-wait-ms", type=float, metavar="MS", help="how long a forward pass waits for more requests (2)"
    )
    parser.add_argument("--ef-search", type=int, metavar="N", help=EF_SEARCH_HELP)
    parser.set_defaults(func=run_serve)


def settings_from_args(args: argparse.Namespace):
    """Return the ServeSettings of --config (or the defaults) with the flags given applied on top."""
    from signclip.serve.settings import MIB, ServeSettings

    settings = ServeSettings.from_file(args.config) if args.config else ServeSettings()
    overrides = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "models": args.model,
        "api_key": args.api_key if args.api_key is not None else os.environ.get("SIGNCLIP_API_KEY"),
        "cors_origins": args.cors_origin,
        "database_url": args.database_url,
        "home": args.home,
        "ef_search": args.ef_search,
    }
    settings = dataclasses.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    limits = {"request_timeout_s": args.request_timeout}
    if args.max_upload_mb is not None:
        limits["max_upload_bytes"] = int(args.max_upload_mb * MIB)
        limits["max_request_bytes"] = max(settings.limits.max_request_bytes, limits["max_upload_bytes"] + MIB)
    settings.limits = dataclasses.replace(settings.limits, **{k: v for k, v in limits.items() if v is not None})
    batching = {"max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms}
    settings.batching = dataclasses.replace(settings.batching, **{k: v for k, v in batching.items() if v is not None})
    settings.validate("command line")
    return settings


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from signclip.serve.app import SETTINGS_ENV, create_app, load_models

    settings = settings_from_args(args)
    models = load_models(settings)  # a model that cannot be loaded fails here, before the banner
    for served in models.models:
        if served.warning:
            print(served.warning, file=sys.stderr)
    print(f"signclip serve: http://{settings.host}:{settings.port}/ (API documentation at /docs)")
    if settings.workers == 1:
        uvicorn.run(create_app(settings, models), host=settings.host, port=settings.port)
    else:
        os.environ[SETTINGS_ENV] = settings.to_json()
        uvicorn.run(
            "signclip.serve.app:create_app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
        )
    return 0
