"""End-to-end: the Studies page opens every registered study (iterating the registry, so a study
added later is covered) through its deep link; each shows its result (a chart or a table) or,
for a study that trains, its Run button, and no exception. Whole-page screenshots at 1400x1000
and 1024x768 for each."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

import playground.studies as studies
from conftest import T, _idle, _no_traceback, _whole_page  # noqa: F401  (fixtures: conftest.py)

SIZES = ((1400, 1000), (1024, 768))


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
    if study.background:
        expect(page.get_by_role("button", name="Run study")).to_be_visible(timeout=T)
    else:
        shown = page.locator("[data-testid=stPlotlyChart], [data-testid=stDataFrame]")
        expect(shown.first).to_be_visible(timeout=T)
        for i in range(page.get_by_test_id("stPlotlyChart").count()):  # every chart drawn
            expect(page.get_by_test_id("stPlotlyChart").nth(i).locator(".main-svg").first
                   ).to_be_attached(timeout=T)
    _whole_page(page, f"studies_{study.number:02d}_{name}", SIZES)
    _no_traceback(page)
