"""The dashboard in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium signs in, sees a call held for approval, and clicks
Approve; the Python MCP client's call then completes. Screenshots go to
tests/e2e/screenshots/ (not in git)."""

import shutil

import anyio
import pytest

from conftest import ROOT, TIMEOUT
from test_http_approvals import Webhook, admin_token, start_held_gateway
from test_http_gateway import mcp_session, text_of

SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"


@pytest.fixture
def held_gateway(warden, env, tmp_path):
    webhook = Webhook()
    running = start_held_gateway(warden, env, tmp_path, webhook)
    yield running
    running.stop()
    webhook.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("the dashboard test needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(argument)
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    session.set_page_load_timeout(TIMEOUT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield session
    session.quit()


def approve_in_the_dashboard(browser, base: str, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, TIMEOUT)
    browser.get(f"{base}/admin/approvals")
    wait.until(shown.url_contains("/admin/login"))
    browser.find_element(By.ID, "token").send_keys(token)
    browser.save_screenshot(str(SCREENSHOTS / "1-sign-in.png"))
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    # The page reloads itself when the held call appears.
    row = wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, "tr[data-approval]")))
    assert "get_current_time" in row.text and "Asia/Tokyo" in row.text
    browser.save_screenshot(str(SCREENSHOTS / "2-pending-approval.png"))
    row.find_element(By.CSS_SELECTOR, "form[action$='/approve'] input[name=reason]").send_keys("checked by a person")
    row.find_element(By.CSS_SELECTOR, "button.approve").click()
    notice = wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
    assert "approved" in notice.text
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-approval]") == []
    browser.save_screenshot(str(SCREENSHOTS / "3-approved.png"))


def look_at_the_audit_log_and_servers(browser, base: str) -> None:
    from selenium.webdriver.common.by import By

    from selenium.webdriver.support.ui import WebDriverWait

    def both_records_shown(browser) -> bool:
        # Audit records are written in the background: the last may land just after the answer.
        browser.get(f"{base}/admin/audit?tool=get_current_time")
        badges = [badge.text for badge in browser.find_elements(By.CSS_SELECTOR, "td .badge")]
        return "approved" in badges and "approval_required" in badges

    WebDriverWait(browser, TIMEOUT, poll_frequency=0.2).until(both_records_shown)
    browser.save_screenshot(str(SCREENSHOTS / "4-audit-log.png"))
    browser.get(f"{base}/admin/servers")
    assert "/tools/get_current_time/approval" in browser.page_source
    browser.save_screenshot(str(SCREENSHOTS / "5-servers.png"))
    browser.get(f"{base}/admin/grants")
    assert "agent" in browser.find_element(By.TAG_NAME, "table").text


@pytest.mark.anyio
async def test_clicking_approve_in_the_dashboard_completes_the_clients_call(held_gateway, browser):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    alice = admin_token(gateway, "alice", "approver")
    async with mcp_session(gateway.url("time"), agent) as session:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, approve_in_the_dashboard, browser, gateway.base, alice)
            result = await session.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["timezone"] == "Asia/Tokyo"
    await anyio.to_thread.run_sync(look_at_the_audit_log_and_servers, browser, gateway.base)


def test_a_viewer_sees_approvals_but_cannot_decide_them(held_gateway, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import WebDriverWait

    gateway = held_gateway
    viewer = admin_token(gateway, "victor", "viewer")
    wait = WebDriverWait(browser, TIMEOUT)
    browser.get(f"{gateway.base}/admin/login")
    browser.find_element(By.ID, "token").send_keys("wda_not-a-token")
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    refusal = wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, "p.error")))
    assert "not a valid admin token" in refusal.text
    browser.find_element(By.ID, "token").send_keys(viewer)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    navigation = wait.until(shown.presence_of_element_located((By.TAG_NAME, "nav")))
    assert "victor · viewer" in navigation.text
    assert browser.find_elements(By.CSS_SELECTOR, "button.approve") == []
