"""The search page as a corpus user meets it, in Debian's chromium at desktop and phone widths: the Model menu
lists the dataset's models that the server has, a 409 says what to do on the page, result cards hold their
children, a hit opens its whole recording (timeline by level, the video seeking to the segment), the keyboard
alone moves through results and segments, the hits download as CSV and ELAN, and axe-core finds no serious or
critical violation."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from signclip.data.eaf import read_eaf

from .browser import VIEWPORTS, children_outside, chromium, live_server, serious_accessibility_violations

pytestmark = pytest.mark.slow
TWO_MODELS, OTHER_ONLY = "two-models", "other-only"


@pytest.fixture(scope="module")
def other_model(tmp_path_factory, small_model_config) -> Path:
    """A second small untrained model, `other-test`, saved."""
    from signclip.model.hub import create_model, save_model

    model = create_model(small_model_config("other-test", tower_dim=16, max_frames=64))
    return save_model(model, tmp_path_factory.mktemp("other") / "other-test")


@pytest.fixture(scope="module")
def model_datasets(serve_home, database_url, model_dir, other_model) -> Iterator[None]:
    """Dataset `two-models`, indexed by serve-test and by other-test, and `other-only`, by other-test alone
    (removed afterwards: the session's store is shared)."""
    from embedders import index_table

    from signclip.data.manifest import read_manifest
    from signclip.data.synthetic import generate_dataset
    from signclip.model.hub import load_model
    from signclip.store.store import Store

    manifest = read_manifest(generate_dataset(serve_home / "model-datasets", glosses=4, signers=2, repetitions=2))
    with Store.open(database_url, home=serve_home) as store:
        for dataset, models in ((TWO_MODELS, (model_dir, other_model)), (OTHER_ONLY, (other_model,))):
            for model in models:
                index_table(store, dataset, manifest, load_model(model), progress=False, model_source=str(model))
    yield
    with Store.open(database_url, home=serve_home) as store:
        for dataset in (TWO_MODELS, OTHER_ONLY):
            store.remove_dataset(dataset)


@pytest.fixture(scope="module")
def live_url(settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with chromium() as instance:
        yield instance


def open_page(browser, url: str, viewport: str, dataset: str):
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector(f"#dataset option[value='{dataset}']", state="attached")
    page.get_by_label("Dataset").select_option(dataset)
    return page


def search_text(page, text: str, k: int = 10) -> None:
    page.get_by_label("Number of results").fill(str(k))
    page.get_by_label("Word or phrase").fill(text)
    page.get_by_role("button", name="Search text").click()
    page.wait_for_function(
        "() => /results? for|Search failed/.test(document.querySelector('#status').textContent)", timeout=30_000
    )


def test_the_model_menu_lists_the_datasets_models_that_the_server_has(
    browser, live_url, settings, model_datasets, other_model
):
    page = open_page(browser, live_url, "desktop", TWO_MODELS)  # the server has serve-test only
    assert page.locator("#model-field").is_hidden()
    search_text(page, "house", k=3)
    assert "3 results for “house”" in page.locator("#status").inner_text()

    page.get_by_label("Dataset").select_option(OTHER_ONLY)
    hint = page.locator("#dataset-hint").inner_text()
    assert "none of other-only's models (other-test)" in hint and "signclip serve --model" in hint
    search_text(page, "house", k=3)
    status = page.locator("#status").inner_text()
    assert "Search failed" in status and "restart the server with one of them" in status and "model_name" not in status
    page.close()

    both = dataclasses.replace(settings, models=[*settings.models, str(other_model)])
    with live_server(both) as url:
        page = open_page(browser, url, "phone", TWO_MODELS)
        menu = page.get_by_label("Model")
        assert menu.is_visible()
        options = menu.locator("option").all_inner_texts()
        assert [option.split(" ")[0] for option in options] == ["serve-test", "other-test"]
        search_text(page, "house", k=3)
        assert "3 results" in page.locator("#status").inner_text()
        menu.select_option("other-test")
        search_text(page, "tree", k=2)
        assert "2 results for “tree”" in page.locator("#status").inner_text()
        page.get_by_label("Dataset").select_option(OTHER_ONLY)
        assert page.locator("#model-field").is_hidden()  # one model of the dataset served: no choice to make
        assert not page.errors, page.errors
        page.close()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_a_hit_opens_its_recording_and_plays_its_segments(browser, live_url, recordings, tmp_path, viewport):
    page = open_page(browser, live_url, viewport, "talks")
    search_text(page, "hello", k=5)
    assert page.locator(".result").count() == 5
    assert children_outside(page) == []  # the time range and every other child inside its card
    assert serious_accessibility_violations(page) == []
    page.screenshot(path=tmp_path / f"results-{viewport}.png", full_page=True)

    card = page.locator(".result", has_text="SIGN-2")
    card.get_by_role("button", name="Open the recording").click()
    dialog = page.get_by_role("dialog", name="Recording talk1")
    dialog.wait_for(state="visible")
    page.wait_for_selector("#timeline .segment")
    assert page.locator("#timeline-labels").inner_text().split() == ["Signs", "Sentences"]
    signs = page.locator("#timeline .tier-track").nth(0).locator(".segment")
    assert signs.count() == 3 and page.locator("#timeline .tier-track").nth(1).locator(".segment").count() == 1
    assert page.locator("#timeline .segment.hit").count() == 4  # talk1's four items are among the five results
    video = dialog.locator("video")
    page.wait_for_function("() => document.querySelector('#recording-view video').readyState >= 1", timeout=30_000)
    page.wait_for_function("() => Math.abs(document.querySelector('#recording-view video').currentTime - 0.4) < 0.05")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("SIGN-2, 00:00.4-00:00.9")

    page.keyboard.press("ArrowRight")  # to SIGN-3, then play it with Enter
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("SIGN-3")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#recording-view video').currentTime >= 0.9")
    page.wait_for_function("() => document.querySelector('#recording-view video').paused", timeout=30_000)
    assert abs(video.evaluate("(v) => v.currentTime") - 1.5) < 0.1  # stopped at the segment's end
    page.keyboard.press("ArrowDown")  # to the sentence row
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("SENTENCE-1")
    page.keyboard.press(" ")
    assert "Playing SENTENCE-1" in page.locator("#recording-now").inner_text()
    assert children_outside(page, "#recording-view") == []
    assert serious_accessibility_violations(page) == []
    page.screenshot(path=tmp_path / f"recording-view-{viewport}.png")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.textContent") == "Recording"  # back to the button that opened it
    assert not page.errors, page.errors
    page.close()


def test_the_keyboard_alone_moves_through_results_opens_and_plays_them(browser, live_url, recordings):
    page = open_page(browser, live_url, "desktop", "talks")
    page.locator("#text").focus()
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result", timeout=30_000)
    page.locator("#results-title").focus()
    for _ in range(10):  # Tab onward until a result card has the focus: the list is one tab stop
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('result')"):
            break
    first = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert first.startswith("Result 1:")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Result 2:")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == first
    focus_ring = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_ring != "none"  # focus is visible
    card_video = page.evaluate("!!document.activeElement.querySelector('video')")
    page.keyboard.press(" ")
    if card_video:
        page.wait_for_function("() => !document.activeElement.querySelector('video').paused")
    page.keyboard.press("Enter")
    page.get_by_role("dialog").wait_for(state="visible")
    page.wait_for_selector("#timeline .segment.current")
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == first
    page.close()


def test_the_hits_download_as_csv_and_as_elan(browser, live_url, recordings, tmp_path):
    page = open_page(browser, live_url, "desktop", "talks")
    search_text(page, "hello", k=5)
    names = page.locator(".result .gloss").all_inner_texts()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["gloss"] for row in rows] == names and download.value.suggested_filename == "hits.csv"
    assert {row["recording"] for row in rows} == {"talk1", "talk2"}
    with page.expect_download() as download:
        page.get_by_role("button", name="Download ELAN").click()
    assert download.value.suggested_filename == "hits.zip"  # two recordings: an .eaf each
    import zipfile

    with zipfile.ZipFile(download.value.path()) as archive:
        archive.extractall(tmp_path)
    tiers, media = read_eaf(tmp_path / "hits-talk1.eaf")
    assert len(tiers["SEARCH"]) == 4 and all(a.value.startswith("hello (rank ") for a in tiers["SEARCH"])
    assert media == [str(recordings["video"])]
    assert "Downloaded hits.zip" in page.locator("#status").inner_text()
    page.close()
