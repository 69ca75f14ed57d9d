"""End-to-end: the Studies page opens every registered study (iterating the registry, so a study
added later is covered) through its deep link; each shows its result (a chart or a table) or,
for a study that trains, its Run button, and no exception. Whole-page screenshots at 1400x1000
and 1024x768 for each."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

import playground.studies as studies
from conftest import T, _idle, _no_traceback, shots_dir  # noqa: F401  (fixtures: conftest.py)

SIZES = ((1400, 1000), (1024, 768))


def _whole_page_shot(page, name: str, width: int, height: int) -> None:
    """Enlarge the viewport to the main panel's height (Streamlit scrolls inside it) and save."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(500)
    full = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(height, full + 40)})
    page.wait_for_timeout(800)
    path = shots_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"[e2e] {path}")
    page.set_viewport_size({"width": width, "height": height})


@pytest.mark.parametrize("name", studies.names())
def test_every_study_opens_and_shows_its_result(page, name):
    study = studies.get(name)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{page.app_url}/studies?study={name}")
    expect(page.get_by_role("heading", name="Studies", exact=True)).to_be_visible(timeout=T)
    expect(page.get_by_text(f"{study.number}. {study.title}", exact=True).first
           ).to_be_visible(timeout=T)
    _idle(page)
    _no_traceback(page)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    if study.trains:
        expect(page.get_by_role("button", name="Run study")).to_be_visible(timeout=T)
    else:
        shown = page.locator("[data-testid=stPlotlyChart], [data-testid=stDataFrame]")
        expect(shown.first).to_be_visible(timeout=T)
        for i in range(page.get_by_test_id("stPlotlyChart").count()):  # every chart drawn
            expect(page.get_by_test_id("stPlotlyChart").nth(i).locator(".main-svg").first
                   ).to_be_attached(timeout=T)
    for w, h in SIZES:
        _whole_page_shot(page, f"studies_{study.number:02d}_{name}_{w}x{h}", w, h)
    _no_traceback(page)
