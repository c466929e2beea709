"""The search page in a real browser (Debian's chromium driven by Playwright) against a live uvicorn server:
a text search and a file-upload search render ranked results with skeleton canvases that are drawn on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signclip.data.synthetic import synthetic_pose
from signclip.poses.io import write_pose

from .browser import VIEWPORTS, chromium, live_server, wait_for_skeletons

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_url(settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as instance:
        yield instance


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_text_and_upload_searches_render_results_and_skeletons(browser, live_url, tmp_path, viewport):
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_url)
    page.wait_for_selector("#dataset option[value='synthetic']", state="attached")

    page.get_by_label("Number of results").fill("6")
    page.get_by_label("Word or phrase").fill("house")
    page.get_by_role("button", name="Search text").click()
    page.wait_for_selector(".result", timeout=30_000)
    assert wait_for_skeletons(page, ".result canvas", 6)
    status = page.locator("#status").inner_text()
    assert "6 results for “house”" in status and "<en> <ase> house" in status
    assert page.locator(".result .gloss").count() == 6
    assert page.locator("#query").is_hidden()
    page.screenshot(path=tmp_path / f"text-search-{viewport}.png", full_page=True)

    query = write_pose(synthetic_pose(gloss=1, signer=0, seed=5), tmp_path / "query.pose")
    page.get_by_label("Video or .pose file").set_input_files(query)
    page.get_by_role("button", name="Search with file").click()
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('query.pose')")
    assert wait_for_skeletons(page, "#query-canvas", 1)
    assert wait_for_skeletons(page, ".result canvas", 6)
    assert "frames" in page.locator("#query-caption").inner_text()
    scores = page.evaluate(
        """() => [...document.querySelectorAll('.result dt')]
            .filter((dt) => dt.textContent === 'Score').map((dt) => Number(dt.nextElementSibling.textContent))"""
    )
    assert len(scores) == 6 and scores == sorted(scores, reverse=True)
    page.screenshot(path=tmp_path / f"upload-search-{viewport}.png", full_page=True)
    assert not errors, errors
    page.close()


def test_keyboard_only_search_and_errors_are_announced(browser, live_url):
    page = browser.new_page(viewport=VIEWPORTS["desktop"])
    page.goto(live_url)
    page.wait_for_selector("#dataset option[value='synthetic']", state="attached")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.locator("#text").focus()
    page.keyboard.press("Enter")
    assert "Type a word or phrase" in page.locator("#status").inner_text()
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    page.keyboard.type("tree")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result", timeout=30_000)
    assert "results for “tree”" in page.locator("#status").inner_text()
    page.close()


def test_untrained_models_mismatches_and_weak_matches_are_said_in_words(browser, live_url):
    page = browser.new_page(viewport=VIEWPORTS["desktop"])
    page.goto(live_url)
    page.wait_for_selector("#dataset option[value='synthetic']", state="attached")
    banner = page.locator("#model-warning")
    banner.wait_for(state="visible")
    assert "serve-test is untrained" in banner.inner_text() and "signclip train" in banner.inner_text()

    page.get_by_label("Number of results").fill("4")
    page.get_by_label("Word or phrase").fill("house")
    page.get_by_role("button", name="Search text").click()
    page.wait_for_selector(".result", timeout=30_000)
    matches = page.evaluate(
        """() => [...document.querySelectorAll('.result dt')]
            .filter((dt) => dt.textContent === 'Match').map((dt) => dt.nextElementSibling.textContent)"""
    )
    assert matches == ["no cue"] * 4  # an untrained model's hits are never strong
    assert "No relevance cue: the model is untrained" in page.locator("#status").inner_text()

    mismatch = {
        "detail": "dataset 'synthetic' was indexed with q (4 items), none of which this server has loaded; "
        "start the server with one of them (signclip serve --model DIRECTORY)",
        "fact": "dataset 'synthetic' was indexed with q (4 items), none of which this server has loaded",
        "problem": "not_loaded",
        "models": ["q"],
        "loaded": ["serve-test"],
    }
    page.route("**/api/search", lambda route: route.fulfill(status=409, json=mismatch))
    page.get_by_role("button", name="Search text").click()
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('restart the server')")
    assert "model_name" not in page.locator("#status").inner_text()  # the API's words are not the page's
    page.close()


def test_a_segment_result_shows_its_time_range_and_plays_its_video_from_the_start(browser, live_url, video_segment):
    page = browser.new_page(viewport=VIEWPORTS["desktop"])
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_url)
    page.wait_for_selector(f"#dataset option[value='{video_segment['dataset']}']", state="attached")
    page.get_by_label("Dataset").select_option(video_segment["dataset"])
    page.get_by_label("Word or phrase").fill("hello")
    page.get_by_role("button", name="Search text").click()
    page.wait_for_selector(".result", timeout=30_000)
    assert page.locator(".result .time-range").inner_text() == "00:00.6-00:00.9"
    assert page.locator(".result canvas").count() == 0
    video = page.locator(".result video")
    assert video.get_attribute("src") == f"/api/items/{video_segment['item_id']}/video#t=0.600,0.900"
    page.wait_for_function("() => document.querySelector('.result video').readyState >= 1", timeout=30_000)
    assert abs(video.evaluate("(v) => v.currentTime") - 0.6) < 0.05
    video.evaluate("(v) => v.play()")
    page.wait_for_function("() => document.querySelector('.result video').paused", timeout=30_000)
    assert abs(video.evaluate("(v) => v.currentTime") - 0.9) < 0.1  # stopped at the segment's end
    assert not errors, errors
    page.close()
