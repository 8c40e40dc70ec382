"""The upload page in Chromium: it draws the upload widget (sending is tested with the hub).

It is served by a Voila on ``dashboards/workspace/`` as an observer's own server serves it
(``workspace_voila_url``); the public dashboards service answers 404 for it.
"""

from __future__ import annotations

import pytest

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_upload_page_shows_the_file_picker_and_a_disabled_send(page, workspace_voila_url):
    open_dashboard(page, workspace_voila_url, "upload", ready=".aphos-upload-widget")
    assert page.locator(".aphos-upload-picker").is_visible()
    assert page.locator(".aphos-upload-send").is_disabled()  # nothing chosen yet
    screenshot(page, "upload")
