"""Serve settings as data (YAML, flags) and `signclip serve` itself, started as a real process."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time

import httpx
import pytest

from signclip.cli import build_parser
from signclip.cli.serve import settings_from_args
from signclip.errors import ConfigError
from signclip.serve.settings import MIB, Limits, ServeSettings


def test_yaml_settings_with_limits(tmp_path):
    path = tmp_path / "serve.yaml"
    path.write_text(
        "port: 8080\nmodels: [signclip-small, asl=/models/asl]\napi_key: k\n"
        "cors_origins: [https://a.example]\nlimits: {max_texts: 8, request_timeout_s: 5}\n"
    )
    settings = ServeSettings.from_file(path)
    assert settings.port == 8080 and settings.api_key == "k"
    assert settings.model_specs() == [(None, "signclip-small"), ("asl", "/models/asl")]
    assert settings.limits == Limits(max_texts=8, request_timeout_s=5)
    assert ServeSettings.from_dict(settings.to_dict()) == settings


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("prot: 1\n", ["prot", "known keys"]),
        ("port: high\n", ["port"]),
        ("port: 70000\n", ["port", "65535"]),
        ("limits: {max_texts: 0}\n", ["max_texts", "positive"]),
        ("limits: {max_textz: 3}\n", ["max_textz"]),
        ("models: []\n", ["models"]),
        ("models: ['=x']\n", ["ALIAS=PATH"]),
        ("api_key: '  '\n", ["api_key"]),
        ("ef_search: 0\n", ["ef_search", "1 to 1000", "got 0"]),
        ("- a list\n", ["mapping"]),
        ("port: [\n", ["not a readable"]),
    ],
)
def test_bad_settings_name_the_key(tmp_path, text, words):
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        ServeSettings.from_file(path)
    for word in words:
        assert word in str(raised.value)


def test_flags_override_the_file(tmp_path, monkeypatch):
    path = tmp_path / "serve.yaml"
    path.write_text("port: 8080\nhost: 0.0.0.0\nlimits: {max_request_bytes: 1000}\n")
    monkeypatch.setenv("SIGNCLIP_API_KEY", "from-env")
    flags = ["--port", "9000", "--model", "a", "--model", "b=c", "--max-upload-mb", "2", "--ef-search", "160"]
    args = build_parser().parse_args(["serve", "--config", str(path), *flags])
    settings = settings_from_args(args)
    assert settings.ef_search == 160
    assert (settings.host, settings.port, settings.models) == ("0.0.0.0", 9000, ["a", "b=c"])
    assert settings.api_key == "from-env"
    assert settings.limits.max_upload_bytes == 2 * MIB
    assert settings.limits.max_request_bytes == 3 * MIB  # raised to fit the upload
    assert settings.cors_origins == []


def test_worker_processes_build_the_app_from_the_environment(settings, monkeypatch):
    from fastapi.testclient import TestClient

    from signclip.serve.app import SETTINGS_ENV, create_app_from_environment

    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    with pytest.raises(ConfigError, match=SETTINGS_ENV):
        create_app_from_environment()
    monkeypatch.setenv(SETTINGS_ENV, settings.to_json())
    with TestClient(create_app_from_environment()) as client:
        assert client.get("/healthz").json()["models"] == ["serve-test"]


def test_the_servers_store_connections_search_with_its_ef_search(settings):
    from signclip.serve.app import open_resources

    resources = open_resources(dataclasses.replace(settings, ef_search=160))
    try:
        with resources.stores.store() as store:
            assert store.connection.execute("SHOW hnsw.ef_search").fetchone()[0] == "160"
    finally:
        resources.close()


def test_serve_command_answers_on_loopback(model_dir, serve_home, database_url):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "signclip.cli", "serve", "--port", str(port), "--model", str(model_dir)]
    command += ["--database-url", database_url, "--home", str(serve_home)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "signclip serve did not answer"
                time.sleep(0.2)
        assert health.json()["models"] == ["serve-test"]
        datasets = httpx.get(f"http://127.0.0.1:{port}/api/datasets", timeout=30).json()["datasets"]
        assert "synthetic" in [d["name"] for d in datasets]
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}/" in out


def test_bad_settings_on_the_command_line_exit_1_without_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "signclip.cli", "serve", "--port", "0"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "port must be between 1 and 65535" in result.stderr and "Traceback" not in result.stderr
