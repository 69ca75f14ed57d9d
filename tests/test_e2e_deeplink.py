"""End-to-end: the first request a fresh server gets is a deep link to a page (not `/`).
Streamlit would run that page file without the router; the page hands over to `app.py`, which
opens the same page with its navigation and layout."""
from __future__ import annotations

from playwright.sync_api import expect

from conftest import T, _no_traceback, _shot  # noqa: F401  (fixtures: conftest.py)


def test_deep_link_on_a_fresh_server_goes_through_the_router(app_url, page):
    page.goto(f"{app_url}/runs")
    expect(page.get_by_role("heading", name="Leaderboard", exact=True)).to_be_visible(timeout=T)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Transfer learning", exact=True)).to_be_visible(timeout=T)
    expect(nav.get_by_text("runs", exact=True)).to_have_count(0)  # no raw file names
    assert page.url.rstrip("/").endswith("/runs")
    _no_traceback(page)
    _shot(page, "8a_deep_link_runs")
