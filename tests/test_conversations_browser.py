"""Lasting conversations and feedback in a real browser: ``python app.py`` (real embedder,
embedded LLM) driven through Debian's chromium. Ask, reload and see the conversation again;
start another and reopen the old one; rename, export as Markdown; thumbs down with a
correction, still shown after a reload; export the feedback as a battery and run ``rag eval``
on it through the API. Reload in the middle of an answer: the answer is not lost. Two
logins: each sees only their own conversations.

Screenshots go to ``$RAG_SCREENSHOTS`` when it is set (to look at them as a user would).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playwright.sync_api import expect
from test_ui_browser import (ANSWER_SECONDS, BOT, SEED_QUESTION, UI_SECONDS, USER, _ask, _open, browser,  # noqa: F401
                             chromium, new_context)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
SECOND = "Who was on a state visit to Tehran?"
CORRECTION = "more than 10 billion euros"


@pytest.fixture(scope="module")
def app_url(chromium, app_server):  # noqa: F811
    return app_server


def _shot(page, name):
    folder = os.environ.get("RAG_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def _conversation_labels(page) -> list[str]:
    return page.locator("#rag-conversations label").all_inner_texts()


def _wait_chat(page, questions: list[str]):
    page.wait_for_function("""(qs) => { const u = [...document.querySelectorAll('#rag-chat [data-testid="user"]')]
        .map(e => e.innerText.trim()); return JSON.stringify(u) === JSON.stringify(qs); }""",
                           arg=questions, timeout=UI_SECONDS * 1000)


def test_conversation_survives_reload_reopens_exports_and_feedback_becomes_a_battery(app_url, browser,  # noqa: F811
                                                                                      tmp_path):
    url, app_tmp = app_url
    context, page = _open(browser, url)
    try:
        _ask(page, SEED_QUESTION)
        first_answer = page.locator(BOT).last.inner_text()
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length > 0")
        _shot(page, "1-asked")

        page.reload()
        page.wait_for_selector("#rag-question textarea:not([disabled])")
        _wait_chat(page, [SEED_QUESTION])
        assert page.locator(BOT).last.inner_text() == first_answer
        assert "10 billion euros" in page.locator("#rag-sources-box mark").first.inner_text()
        _shot(page, "2-reloaded")

        page.click("#rag-new")
        _wait_chat(page, [])
        _ask(page, SECOND)
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length >= 2")
        labels = _conversation_labels(page)
        assert any(SECOND in x for x in labels) and any(SEED_QUESTION in x for x in labels)

        page.locator("#rag-conversations label", has_text=SEED_QUESTION).click()  # reopen the old one
        _wait_chat(page, [SEED_QUESTION])
        page.fill("#rag-conv-name textarea, #rag-conv-name input", "Trade volume")
        page.click("#rag-rename")
        page.wait_for_function("() => [...document.querySelectorAll('#rag-conversations label')]"
                               ".some(l => l.innerText.includes('Trade volume'))")
        _shot(page, "3-reopened-renamed")

        page.click("#rag-export")
        link = page.locator("#rag-export-file a").first
        link.wait_for(timeout=UI_SECONDS * 1000)
        markdown = page.request.get(link.get_attribute("href")).text()
        assert markdown.startswith("# Trade volume") and "> " in markdown
        assert "raisi-iraq-trade-press-conference.txt" in markdown

        page.locator('#rag-chat button[aria-label="Dislike"]').last.click()
        page.locator("#rag-correction").wait_for(state="visible", timeout=UI_SECONDS * 1000)
        page.fill("#rag-correction textarea, #rag-correction input", CORRECTION)
        _shot(page, "4-thumbs-down")
        page.click("#rag-feedback-send")
        page.locator("#rag-feedback-msg").get_by_text("correction is saved").wait_for(timeout=UI_SECONDS * 1000)
        page.locator("#rag-correction").wait_for(state="hidden", timeout=UI_SECONDS * 1000)
        _shot(page, "5-correction-sent")

        page.reload()  # the thumbs down is shown again with the conversation
        page.wait_for_selector("#rag-question textarea:not([disabled])")
        _wait_chat(page, [SEED_QUESTION])
        expect(page.locator('#rag-chat button[aria-label="Disliked"]')).to_have_count(1, timeout=UI_SECONDS * 1000)
        expect(page.locator('#rag-chat button[aria-label="Liked"]')).to_have_count(0)
        _shot(page, "5b-reloaded-thumbs-down-kept")
    finally:
        context.close()

    battery = tmp_path / "battery.jsonl"
    env = dict(os.environ, RAG_DATA_DIR=str(app_tmp / "data"), HF_HUB_OFFLINE="1")
    run = subprocess.run([sys.executable, "-m", "rag", "feedback", "export", "--out", str(battery)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (line,) = [json.loads(x) for x in battery.read_text().splitlines()]
    assert line["question"] == SEED_QUESTION and line["answers"] == [CORRECTION] and line["sources"]
    out = tmp_path / "run"
    ev = subprocess.run([sys.executable, "-m", "rag", "eval", str(battery), "--api", url.rstrip("/"),
                         "--out", str(out), "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True,
                        timeout=ANSWER_SECONDS * 2)
    assert ev.returncode == 0, ev.stderr
    (result,) = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert result["question"] == SEED_QUESTION and "10 billion euros" in result["answer"]
    assert json.loads((out / "report.json").read_text())["n"] == 1


def test_old_conversations_stay_listed_in_a_new_browser_and_can_be_deleted(app_url, browser):  # noqa: F811
    url, _ = app_url
    context, page = _open(browser, url)
    try:
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length >= 1")
        before = len(_conversation_labels(page))
        assert page.locator(USER).count() == 0  # a new browser starts with an empty chat
        page.locator("#rag-conversations label").first.click()
        page.wait_for_function("() => document.querySelectorAll('#rag-chat [data-testid=\"user\"]').length > 0")
        page.click("#rag-delete")
        page.wait_for_function("(n) => document.querySelectorAll('#rag-conversations label').length === n - 1",
                               arg=before)
        assert page.locator(USER).count() == 0
    finally:
        context.close()


def test_a_page_reloaded_mid_answer_gets_the_whole_answer(app_url, browser):  # noqa: F811
    url, _ = app_url
    context, page = _open(browser, url)
    try:
        page.click("#rag-new")
        _wait_chat(page, [])
        page.fill("#rag-question textarea", SEED_QUESTION)
        page.keyboard.press("Enter")
        _wait_chat(page, [SEED_QUESTION])
        in_progress = page.locator(BOT).last.inner_text()
        assert "Searching the documents" in in_progress or "▍" in in_progress, in_progress  # not answered yet
        page.reload()  # mid-answer: the question was stored when it was asked
        page.wait_for_selector("#rag-question textarea:not([disabled])")
        _wait_chat(page, [SEED_QUESTION])
        page.wait_for_function(  # the server finished it; the reloaded page shows its progress, then all of it
            """() => { const b = [...document.querySelectorAll('#rag-chat [data-testid="bot"]')].pop();
                       return b && b.innerText.includes('10 billion euros') && !b.innerText.includes('▍'); }""",
            timeout=ANSWER_SECONDS * 1000)
        answer = page.locator(BOT).last.inner_text()
        expect(page.locator("#rag-sources-box mark").first).to_contain_text("10 billion euros",
                                                                            timeout=UI_SECONDS * 1000)
        _shot(page, "5c-reloaded-mid-answer")
        page.reload()  # and it is stored whole
        page.wait_for_selector("#rag-question textarea:not([disabled])")
        _wait_chat(page, [SEED_QUESTION])
        page.wait_for_function("""(text) => [...document.querySelectorAll('#rag-chat [data-testid="bot"]')]
                                  .pop()?.innerText === text""", arg=answer, timeout=UI_SECONDS * 1000)
    finally:
        context.close()


@pytest.fixture(scope="module")
def two_user_app(tmp_path_factory):
    """The app with fake answers and two logins, ann and bob."""
    from conftest import app_env, free_port, stop_process, wait_until_serving

    tmp = tmp_path_factory.mktemp("two-users")
    port = free_port()
    env = dict(app_env(tmp, UI_FAKE_EMBEDDER="1", GRADIO_SERVER_PORT=str(port)), RAG_AUTH="ann:pw-ann-1,bob:pw-bob-2")
    log = (tmp / "app.log").open("w")
    proc = subprocess.Popen([sys.executable, "tests/ui_fakes.py"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(proc, url, tmp)
        yield url
    finally:
        stop_process(proc)
        log.close()


def _login(page, url, user, password):
    page.goto(url)
    page.locator("input[type=password]").wait_for(timeout=UI_SECONDS * 1000)
    page.locator("input[data-testid=textbox]").fill(user)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#rag-question textarea:not([disabled])", timeout=60_000)


def test_each_user_sees_only_their_own_conversations(two_user_app, browser, chromium):  # noqa: F811
    context = new_context(browser)
    page = context.new_page()
    try:
        _login(page, two_user_app, "ann", "pw-ann-1")
        _ask(page, SEED_QUESTION)
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length === 1")
        ann_id = page.locator("#rag-conversations input").first.get_attribute("value")
        page.reload()
        page.wait_for_selector("#rag-question textarea:not([disabled])")
        _wait_chat(page, [SEED_QUESTION])
        # bob logs in on the same browser: the page still holds ann's conversation id, and
        # opening it by that id gives bob an empty chat, not ann's conversation
        context.clear_cookies()
        _login(page, two_user_app, "bob", "pw-bob-2")
        # the page's stored id was ann's: bob's page says it isn't available and opens nothing
        expect(page.locator("#rag-conv-note")).to_contain_text("isn't available", timeout=UI_SECONDS * 1000)
        assert page.locator(USER).count() == 0
        assert _conversation_labels(page) == []
        _shot(page, "6-bob-sees-nothing-of-ann")
        _ask(page, SECOND)
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length === 1")
        assert page.locator("#rag-conversations input").first.get_attribute("value") != ann_id
        context.clear_cookies()
        _login(page, two_user_app, "ann", "pw-ann-1")
        page.wait_for_function("() => document.querySelectorAll('#rag-conversations label').length === 1")
        assert [SEED_QUESTION in x for x in _conversation_labels(page)] == [True]
    finally:
        context.close()
