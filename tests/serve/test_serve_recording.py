"""A hit's recording (GET /api/items/{id}/recording) and the download of hits (POST /api/export): the
recording's segments by level in time order, CSV rows, and ELAN files that pympi-ling reads back."""

from __future__ import annotations

import csv
import io
import zipfile

from signclip.data.eaf import read_eaf


def test_a_segment_opens_its_whole_recording_by_level_in_time_order(client, recordings):
    ids = recordings["ids"]
    response = client.get(f"/api/items/{ids['talk1#sign2']}/recording")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "talk1" and body["dataset"] == "talks" and not body["truncated"]
    levels = {level["level"]: level["items"] for level in body["levels"]}
    assert [item["key"] for item in levels["sign"]] == ["talk1#sign1", "talk1#sign2", "talk1#sign3"]
    assert [item["start_ms"] for item in levels["sign"]] == [0.0, 400.0, 900.0]
    assert [item["key"] for item in levels["sentence"]] == ["talk1#sentence1"]
    assert body["duration_ms"] == 1500.0 and body["video_url"].endswith("/video")
    assert all("talk2" not in item["key"] for items in levels.values() for item in items)  # another recording
    other = client.get(f"/api/items/{ids['talk2#sign1']}/recording").json()
    assert other["video_url"] is None and [lv["level"] for lv in other["levels"]] == ["sign"]
    assert client.get("/api/items/999999999/recording").status_code == 404


def test_hits_download_as_csv_rows(client, recordings):
    ids = recordings["ids"]
    hits = [{"item_id": ids["talk1#sign3"], "score": 0.91}, {"item_id": ids["talk2#sign1"], "score": 0.5}]
    response = client.post("/api/export", json={"format": "csv", "query": "house", "hits": hits})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["rank"], r["recording"], r["start_ms"], r["end_ms"], r["score"]) for r in rows] == [
        ("1", "talk1", "900.0", "1500.0", "0.9100"),
        ("2", "talk2", "200.0", "800.0", "0.5000"),
    ]
    assert rows[0]["gloss"] == "SIGN-3"


def test_hits_of_one_recording_download_as_one_eaf_linked_to_its_video(client, recordings, tmp_path):
    ids = recordings["ids"]
    hits = [{"item_id": ids["talk1#sign2"], "score": 0.8}, {"item_id": ids["talk1#sign1"], "score": 0.7}]
    response = client.post("/api/export", json={"format": "eaf", "query": "house", "hits": hits})
    assert response.status_code == 200, response.text
    assert 'filename="hits.eaf"' in response.headers["content-disposition"]
    path = tmp_path / "hits.eaf"
    path.write_bytes(response.content)
    tiers, media = read_eaf(path)
    search = tiers["SEARCH"]
    assert [(a.start_ms, a.end_ms) for a in search] == [(0, 400), (400, 900)]
    assert search[1].value == "house (rank 1, score 0.800)"
    assert [a.value for a in tiers["SIGN"]] == ["SIGN-1", "SIGN-2", "SIGN-3"] and len(tiers["SENTENCE"]) == 1
    assert media == [str(recordings["video"])]


def test_hits_of_two_recordings_download_as_a_zip_of_eaf_files(client, recordings, tmp_path):
    ids = recordings["ids"]
    hits = [{"item_id": ids["talk2#sign1"], "score": 0.9}, {"item_id": ids["talk1#sign1"], "score": 0.8}]
    response = client.post("/api/export", json={"format": "eaf", "query": "example q.pose", "hits": hits})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = sorted(archive.namelist())
        archive.extractall(tmp_path)
    assert names == ["hits-talk1.eaf", "hits-talk2.eaf"]
    tiers, media = read_eaf(tmp_path / "hits-talk2.eaf")
    assert tiers["SEARCH"][0].value.startswith("example q.pose (rank 1") and media[0].endswith("talk2.pose")


def test_bad_export_requests_are_refused_naming_the_problem(client, recordings):
    ids = recordings["ids"]
    hit = {"item_id": ids["talk1#sign1"], "score": 0.5}
    assert client.post("/api/export", json={"format": "xlsx", "query": "q", "hits": [hit]}).status_code == 422
    assert client.post("/api/export", json={"format": "csv", "query": "q", "hits": []}).status_code == 422
    missing = client.post(
        "/api/export", json={"format": "csv", "query": "q", "hits": [{"item_id": 999999999, "score": 1}]}
    )
    assert missing.status_code == 404 and "999999999" in missing.json()["detail"]
    many = client.post("/api/export", json={"format": "csv", "query": "q", "hits": [hit] * 101})
    assert many.status_code == 422 and "max_k" in many.json()["detail"]
