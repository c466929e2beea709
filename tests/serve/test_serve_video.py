"""`GET /api/items/{id}/video`: the recording's video of an indexed item, with HTTP range requests; the
path comes from the store, never from the request."""

from __future__ import annotations


def test_a_segment_item_links_its_video_and_times(client, video_segment):
    item = client.get(f"/api/items/{video_segment['item_id']}").json()
    assert item["video_url"] == f"/api/items/{video_segment['item_id']}/video"
    assert (item["start_ms"], item["end_ms"]) == (600.0, 900.0) and "video_path" not in item
    hits = client.post(
        "/api/search", json={"dataset": video_segment["dataset"], "text": "hello", "prompt": False}
    ).json()
    assert [(hit["video_url"], hit["start_ms"], hit["end_ms"]) for hit in hits["results"]] == [
        (item["video_url"], 600.0, 900.0)
    ]


def test_the_video_is_served_whole_and_by_byte_ranges(client, video_segment):
    url = f"/api/items/{video_segment['item_id']}/video"
    data = video_segment["video"].read_bytes()
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416


def test_items_without_a_video_and_unknown_items_are_404(client):
    assert client.get("/api/items/1").json()["video_url"] is None
    no_video = client.get("/api/items/1/video")
    assert no_video.status_code == 404 and "has no video" in no_video.json()["detail"]
    assert client.get("/api/items/999999/video").status_code == 404
    assert client.get("/api/items/..%2F..%2Fetc%2Fpasswd/video").status_code in (404, 422)
