"""The Share tab in headless Chromium: Predict's button leads to it; a local-network server starts, shows its address
and QR code, serves the demo view (reached here through 127.0.0.1 only) and stops; the public link says at once that
it cannot be made offline."""
import re
import urllib.error
import urllib.request

from gui import words
from tests.gui.test_demo_view import _get


def test_share_tab_starts_and_stops_a_network_server(served_app, browser):
    demo, ctx = served_app
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(demo.local_url)
    page.get_by_role("tab", name=words.TAB_PREDICT).click()
    page.locator("#predict-share").click()
    page.locator("#share-page-button").wait_for(state="visible", timeout=30_000)  # the Share tab is open

    page.locator("#share-network-start").click()
    said = page.locator("#share-network-said")
    said.get_by_text("Anyone on this network").or_(said.get_by_text("on no network")).wait_for(timeout=60_000)
    if "on no network" in said.inner_text():  # a machine without a network address: nothing to reach
        assert ctx.shares.get("network") is None
        return
    address = page.locator("#share-network-link textarea, #share-network-link input").first.input_value()
    port = int(re.search(r":(\d+)/$", address).group(1))
    assert port == ctx.shares.get("network").blocks.server_port
    assert page.locator("#share-network-qr img").get_attribute("src").startswith("data:image/svg+xml")
    status, config = _get(f"http://127.0.0.1:{port}/config")  # never the network address itself
    assert status == 200 and words.TAB_TRAIN not in config.decode() and words.DEMO_PREDICT in config.decode()
    page.screenshot(path=str(ctx.runs_dir.parent / "share-tab.png"), full_page=True)

    page.locator("#share-network-stop").click()
    said.get_by_text(words.SHARE_STOPPED).wait_for(timeout=30_000)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=5)
        raise AssertionError("the stopped server still answers")
    except urllib.error.HTTPError as err:
        raise AssertionError(f"the stopped server still answers ({err.code})") from None
    except OSError:
        pass

    page.locator("#share-public-start").click()
    public = page.locator("#share-public-said")
    public.get_by_text("No public link could be made").or_(page.locator("#share-public-qr img")).first.wait_for(
        timeout=30_000)
