"""Sign the query: the page's Record button films with the webcam and searches with the recording. Chromium's
fake camera plays the fixture video (as a .y4m made here); the server extracts the recording's pose with
MediaPipe, as for an uploaded video."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from .browser import VIEWPORTS, chromium, live_server, serious_accessibility_violations, wait_for_skeletons

pytestmark = pytest.mark.slow


def write_y4m(video: Path, path: Path) -> Path:
    """Write `video`'s frames as an uncompressed YUV4MPEG2 (4:2:0) file, what Chromium's fake camera plays."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    fps = round(capture.get(cv2.CAP_PROP_FPS) or 25)
    with path.open("wb") as out:
        header_written = False
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            height, width = frame.shape[:2]
            frame = frame[: height - height % 2, : width - width % 2]
            if not header_written:
                out.write(f"YUV4MPEG2 W{frame.shape[1]} H{frame.shape[0]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
                header_written = True
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    capture.release()
    if not header_written:
        pytest.fail(f"{video}: no frames to make a fake camera of")
    return path


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_record_with_the_camera_then_search_with_the_recording(settings, fixtures_dir, tmp_path, viewport):
    if importlib.util.find_spec("mediapipe") is None:
        pytest.skip("the server needs the video extra (MediaPipe) to search with a recording")
    camera = write_y4m(fixtures_dir / "test_video.mp4", tmp_path / "camera.y4m")
    flags = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ]
    with live_server(settings) as url, chromium(flags) as browser:
        context = browser.new_context(viewport=VIEWPORTS[viewport])
        context.grant_permissions(["camera"], origin=url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url)
        page.wait_for_selector("#dataset option[value='synthetic']", state="attached")
        page.get_by_role("button", name="Record with camera").click()
        preview = page.get_by_label("Live camera preview")
        preview.wait_for(state="visible")
        page.wait_for_function("() => document.querySelector('#camera-preview').videoWidth > 0", timeout=30_000)
        page.get_by_role("button", name="Start recording").click()
        page.wait_for_function(
            "() => document.querySelector('#recorder-status').textContent.includes('Recording in')", timeout=5_000
        )
        page.get_by_role("button", name="Stop").wait_for(state="visible", timeout=10_000)  # after the countdown
        page.wait_for_timeout(2_000)
        page.get_by_role("button", name="Stop").click()
        page.get_by_role("button", name="Search with recording").wait_for(state="visible", timeout=10_000)
        assert "Recorded" in page.locator("#recorder-status").inner_text()
        assert page.get_by_label("Your recording").evaluate("(v) => v.src.startsWith('blob:')")
        assert serious_accessibility_violations(page) == []
        page.screenshot(path=tmp_path / f"recorded-{viewport}.png", full_page=True)

        page.get_by_role("button", name="Retake").click()  # back to the live camera, then record again
        page.get_by_role("button", name="Start recording").click()
        page.get_by_role("button", name="Search with recording").wait_for(state="visible", timeout=15_000)
        page.get_by_role("button", name="Search with recording").click()
        page.wait_for_function(
            "() => /results? for your recording|Search failed/.test(document.querySelector('#status').textContent)",
            timeout=120_000,
        )
        status = page.locator("#status").inner_text()
        assert "results for your recording" in status, status
        assert "Pose extracted from your video" in page.locator("#query-caption").inner_text()
        assert wait_for_skeletons(page, "#query-canvas", 1)  # MediaPipe found the signer in the recording
        page.get_by_role("button", name="Close camera").click()
        assert page.get_by_role("button", name="Record with camera").is_visible()
        assert not errors, errors
        context.close()
