"""The embedded server's lifecycle: leases across processes, `db start` keeping it up, `db` commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from signclip.cli import main
from signclip.store.embedded_postgres import EmbeddedPostgres, process_alive
from signclip.store.store import Store

pytestmark = pytest.mark.slow  # initializes a second data folder (initdb): a few seconds


@pytest.fixture(scope="module")
def home():
    folder = Path(tempfile.mkdtemp(prefix="signclip-lifecycle-"))  # outside pytest's rotating basetemp
    yield folder
    EmbeddedPostgres(folder).stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_the_last_lease_stops_the_server_and_other_processes_keep_it_alive(home: Path):
    server = EmbeddedPostgres(home)
    with Store.open(home=home) as store:
        assert store.list_datasets() == []
        pid = server.status().pid
        assert process_alive(pid)
        other = (
            "from signclip.store.store import Store\n"
            f"with Store.open(home={str(home)!r}) as s:\n"
            "    s.add_items('from-child', [{'id': 'a', 'pose_path': 'a.pose'}])"
        )
        subprocess.run([sys.executable, "-c", other], check=True, timeout=120)
        assert server.status().pid == pid  # the child's release left our lease alone
        assert [d.name for d in store.list_datasets()] == ["from-child"]
    assert not server.status().running
    deadline = time.monotonic() + 10  # the postmaster may take a moment to exit after its pid file is gone
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(pid)


def test_db_start_keeps_the_server_until_db_stop(home: Path, monkeypatch, capsys):
    monkeypatch.setenv("SIGNCLIP_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["db", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(home / "postgres")
    assert main(["db", "start"]) == 0
    assert "postgresql://" in capsys.readouterr().out
    with Store.open() as store:  # a client coming and going does not stop a kept server
        assert store.home == home
    assert main(["db", "status"]) == 0
    status = capsys.readouterr().out
    assert "running: yes" in status and "kept running (signclip db start): yes" in status
    assert main(["db", "stop"]) == 0
    assert capsys.readouterr().out.strip() == "stopped"
    assert main(["db", "status"]) == 0
    assert "running: no" in capsys.readouterr().out
    assert main(["db", "stop"]) == 0
    assert capsys.readouterr().out.strip() == "not running"


def test_a_stale_client_of_a_crashed_process_does_not_keep_the_server_up(home: Path):
    server = EmbeddedPostgres(home)
    crashed = subprocess.Popen([sys.executable, "-c", "pass"])
    crashed.wait()
    server.acquire()
    server._write_clients([crashed.pid, *server.status().clients])  # as if that process had died holding one
    server.release()
    assert not server.status().running


def test_every_store_command_reaches_a_second_server_through_database_url(
    home: Path, database_url: str, synthetic_manifest: Path, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", database_url)  # the default store: a database of the session's server
    monkeypatch.setenv("SIGNCLIP_HOME", str(home / "signclip-home"))
    server = EmbeddedPostgres(home)
    second = server.acquire()  # another PostgreSQL server, in its own data folder and on its own port
    try:
        common = ["--database-url", second]
        add = ["index", "add", "--dataset", "far", "--manifest", str(synthetic_manifest), "--vector-type", "halfvec"]
        assert main([*add, *common]) == 0
        capsys.readouterr()
        assert main(["index", "list", *common]) == 0
        assert "far\t16 items\tembeddings: pose-dtw: 16\tvectors: halfvec" in capsys.readouterr().out
        query = str(next(synthetic_manifest.parent.rglob("*.pose")))
        assert main(["search", "--dataset", "far", "--pose", query, "-k", "3", "--json", *common]) == 0
        assert len(json.loads(capsys.readouterr().out)) == 3
        assert main(["index", "list"]) == 0  # the default store never saw it
        assert "far" not in capsys.readouterr().out
        assert main(["index", "remove", "--dataset", "far", *common]) == 0
    finally:
        server.release()
