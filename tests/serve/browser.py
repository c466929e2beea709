"""What the browser tests share: a live uvicorn server of an app, Debian's chromium driven by Playwright, the
page's viewports, and checks of a page (canvases drawn on, boxes inside boxes, axe-core's accessibility rules)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
DRAWN_PIXELS = """(selector) => [...document.querySelectorAll(selector)].map((canvas) => {
    const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
    return drawn;
})"""
OUTSIDE_CARD = """(selector) => [...document.querySelectorAll(selector)].flatMap((card) => {
    const box = card.getBoundingClientRect();
    return [...card.querySelectorAll("*")].filter((child) => child.getClientRects().length).flatMap((child) => {
        const inner = child.getBoundingClientRect();
        const out = inner.left < box.left - 0.5 || inner.right > box.right + 0.5
            || inner.top < box.top - 0.5 || inner.bottom > box.bottom + 0.5;
        const where = `${JSON.stringify(inner)} outside ${JSON.stringify(box)}`;
        return out ? [`${child.tagName}.${child.className}: ${where}`] : [];
    });
})"""


@contextmanager
def live_server(settings) -> Iterator[str]:
    """Serve `create_app(settings)` with uvicorn on a free loopback port in a background thread; yields its URL."""
    import uvicorn

    from signclip.serve.app import create_app

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator:
    """Debian's chromium under Playwright (skips when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield instance
        finally:
            instance.close()


def drawn_pixels(page, selector: str) -> list[int]:
    """How many pixels each canvas matching `selector` has drawn on."""
    return page.evaluate(DRAWN_PIXELS, selector)


def wait_for_skeletons(page, selector: str, count: int) -> list[int]:
    """Wait until `count` canvases match `selector` and each has drawn pixels; returns the pixel counts."""
    page.wait_for_function(
        f"() => {{ const counts = ({DRAWN_PIXELS})({selector!r});"
        f" return counts.length === {count} && counts.every((n) => n > 0); }}",
        timeout=30_000,
    )
    return drawn_pixels(page, selector)


def children_outside(page, selector: str = ".result") -> list[str]:
    """The visible descendants of each element matching `selector` whose box is not inside its box."""
    return page.evaluate(OUTSIDE_CARD, selector)


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's violations of impact serious or critical on the page as it is now (rule id: the nodes)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {[node['target'] for node in violation['nodes']][:5]}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
