"""End to end in a real browser: ``python app.py`` with the real embedder and the embedded
LLM, driven by Playwright through Debian's chromium (installed by .ci/run).

Prints the time to the first streamed token as seen in the browser (not asserted; the
target is under 1.5 s on 2 cores after start-up).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SEED_QUESTION = "How large is the trade volume between Iran and Iraq?"
ANSWER_SECONDS = 120
UI_SECONDS = 60  # a page reaction (no model call): generous, for a loaded machine

NEW_DOC = """Quenvik harvest festival

The Zorblat harvest festival is held every autumn in the village of Quenvik.
In 2023 the Zorblat festival drew 48,000 visitors, a record for the village.
The festival is known for its giant pumpkin contest and its lantern parade.
"""

BOT = '#rag-chat [data-testid="bot"]'
USER = '#rag-chat [data-testid="user"]'


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def app_url(chromium, app_server) -> str:
    """The running app's URL (started only once chromium is known to be there)."""
    return app_server[0]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def new_context(browser, width=1280, height=800):
    """A browser context whose waits default to ANSWER_SECONDS, not Playwright's 30 s: on a
    loaded 2-core box one answer of the embedded model can take longer than that."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(ANSWER_SECONDS * 1000)
    return context


def _open(browser, url, width=1280, height=800):
    context = new_context(browser, width, height)
    page = context.new_page()
    page.goto(url)
    # the box opens once the page has restored its conversation (it starts disabled)
    page.wait_for_selector("#rag-question textarea:not([disabled])", timeout=60_000)
    return context, page


def _ask(page, question: str) -> float:
    """Type and send ``question``; wait for the verified answer; return seconds to first token."""
    page.wait_for_selector("#rag-chat", state="attached")  # a page still rendering has no chat yet
    n_before = page.locator(BOT).count()
    page.fill("#rag-question textarea", question)
    page.evaluate("""(n) => {
        window.__ttft = null; window.__t0 = performance.now();
        const obs = new MutationObserver(() => {
            const bots = document.querySelectorAll('#rag-chat [data-testid="bot"]');
            if (bots.length <= n) return;
            const text = bots[bots.length - 1].innerText.trim();
            if (text && !text.startsWith('Searching the documents') && !text.startsWith('Waiting for')) {
                window.__ttft = performance.now() - window.__t0; obs.disconnect();
            }
        });
        obs.observe(document.querySelector('#rag-chat'), {childList: true, subtree: true, characterData: true});
    }""", n_before)
    page.keyboard.press("Enter")
    page.wait_for_function(
        """(n) => { const b = document.querySelectorAll('#rag-chat [data-testid="bot"]');
                    return b.length > n && !b[b.length - 1].innerText.includes('▍')
                        && !b[b.length - 1].innerText.includes('Searching the documents')
                        && !b[b.length - 1].innerText.includes('Waiting for'); }""",
        arg=n_before, timeout=ANSWER_SECONDS * 1000)
    ttft = page.evaluate("window.__ttft")
    return ttft / 1000 if ttft is not None else float("nan")


def _last_answer(page):
    return page.locator(BOT).last


FULLY_VISIBLE = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
    return r.top >= 0 && (r.bottom <= window.innerHeight || r.top < window.innerHeight / 3); }"""


def test_seed_question_streams_a_cited_answer_and_shows_the_cited_sentence(app_url, browser):
    context, page = _open(browser, app_url)
    try:
        ttfts = [_ask(page, SEED_QUESTION)]
        answer = _last_answer(page)
        link = answer.locator("a.rag-cite").first
        link.wait_for(timeout=UI_SECONDS * 1000)
        href = link.get_attribute("href")
        assert re.fullmatch(r"#src-0-\d+", href)
        link.click()
        card = page.locator(href)
        card.wait_for(state="visible")
        highlighted = card.locator("mark").inner_text()
        assert "10 billion euros" in highlighted
        assert "raisi-iraq-trade-press-conference.txt" in card.inner_text()
        assert re.search(r"score \d\.\d{3}", card.inner_text())
        status = page.locator("#rag-status").inner_text()
        assert "gemma-3-270m" in status and "all-MiniLM-L6-v2" in status and "1 documents" in status
        # a follow-up; the first answer keeps its own sources
        ttfts.append(_ask(page, "Which sectors do the joint infrastructure projects cover?"))
        ttfts.append(_ask(page, SEED_QUESTION))
        assert page.locator(BOT).count() == 3
        first = page.locator(BOT).first.locator("a.rag-cite").first
        first.click()
        page.locator(href).wait_for(state="visible")
        assert "10 billion euros" in page.locator(href).locator("mark").inner_text()
        print(f"\nTTFT in the browser (embedded model, after start-up): first {ttfts[0]:.2f} s, "
              f"then {ttfts[1]:.2f} s, {ttfts[2]:.2f} s; median {sorted(ttfts)[1]:.2f} s")
    finally:
        context.close()


def test_a_near_miss_naming_what_the_documents_lack_is_refused_saying_so(app_url, browser, tmp_path):
    """"Iran and Turkey" against a document about Iran and Iraq: a refusal that names what is
    missing, with no citation and no bold short answer (a refusal is not an answer)."""
    context, page = _open(browser, app_url)
    try:
        _ask(page, "What is the annual trade volume between Iran and Turkey?")
        answer = _last_answer(page)
        text = answer.inner_text()
        assert "couldn't find this in the documents" in text and "They don't mention Turkey." in text
        assert answer.locator("a.rag-cite").count() == 0 and "10 billion" not in text
        page.screenshot(path=str(tmp_path / "refusal-unknown-name.png"), full_page=True)
    finally:
        context.close()


def test_phone_width_click_on_citation_scrolls_the_source_into_view(app_url, browser):
    context, page = _open(browser, app_url, 390, 844)
    try:
        _ask(page, SEED_QUESTION)
        link = _last_answer(page).locator("a.rag-cite").first
        href = link.get_attribute("href")
        page.evaluate("window.scrollTo(0, 0)")
        link.scroll_into_view_if_needed()
        assert not page.evaluate(FULLY_VISIBLE, href)  # on a phone the panel sits below the chat
        link.click()
        page.wait_for_function(FULLY_VISIBLE, arg=href, timeout=UI_SECONDS * 1000)
    finally:
        context.close()


def test_upload_then_ask_about_it_then_remove_it(app_url, browser, tmp_path):
    doc = tmp_path / "zorblat festival (2023).txt"
    doc.write_text(NEW_DOC)
    bad = tmp_path / "fake.pdf"
    bad.write_bytes(b"this is not a pdf")
    context, page = _open(browser, app_url)
    try:
        page.click("#rag-docs button, #rag-docs .label-wrap")
        page.set_input_files("#rag-upload input[type=file]", [str(doc), str(bad)])
        msg = page.locator("#rag-upload-msg")
        msg.get_by_text("Added").wait_for(timeout=ANSWER_SECONDS * 1000)
        assert "zorblat_festival_2023.txt" in msg.inner_text()
        assert "not a PDF" in msg.inner_text()  # rejected with a reason
        assert "zorblat_festival_2023.txt" in page.locator("#rag-docs-table").inner_text()
        assert "2 documents" in page.locator("#rag-status").inner_text()

        _ask(page, "How many visitors did the Zorblat festival draw in 2023?")
        link = _last_answer(page).locator("a.rag-cite").first
        link.wait_for(timeout=UI_SECONDS * 1000)
        href = link.get_attribute("href")
        link.click()
        card = page.locator(href)
        assert "zorblat_festival_2023.txt" in card.inner_text()
        assert "48,000" in card.locator("mark").inner_text()

        page.locator("#rag-docs").get_by_role("button", name="Remove").click()
        msg.get_by_text("Removed").wait_for(timeout=ANSWER_SECONDS * 1000)
        page.wait_for_function("() => document.querySelector('#rag-status').innerText.includes('1 documents')")
        assert "zorblat" not in page.locator("#rag-docs-table").inner_text()
    finally:
        context.close()


def test_two_sessions_keep_separate_histories(app_url, browser):
    (ca, a), (cb, b) = _open(browser, app_url), _open(browser, app_url)
    try:
        qa, qb = SEED_QUESTION, "Who was on a state visit to Tehran?"
        for page, q in ((a, qa), (b, qb)):
            page.fill("#rag-question textarea", q)
        a.keyboard.press("Enter")
        b.keyboard.press("Enter")  # both in flight at once
        for page in (a, b):
            page.wait_for_function("""() => { const m = document.querySelectorAll('#rag-chat [data-testid="bot"]');
                return m.length === 1 && m[0].querySelector('a.rag-cite, strong'); }""",
                                   timeout=ANSWER_SECONDS * 1000)
        assert a.locator(USER).all_inner_texts() == [qa]
        assert b.locator(USER).all_inner_texts() == [qb]
        a.locator("#rag-clear").click()
        a.wait_for_function("() => !document.querySelector('#rag-chat [data-testid=\"user\"]')")
        assert b.locator(USER).all_inner_texts() == [qb]  # clearing one session leaves the other
    finally:
        ca.close()
        cb.close()


def test_empty_question_gets_a_clear_message_and_markup_stays_text(app_url, browser):
    context, page = _open(browser, app_url)
    try:
        page.fill("#rag-question textarea", "   ")
        page.keyboard.press("Enter")
        page.get_by_text("Type a question first.").first.wait_for(timeout=UI_SECONDS * 1000)
        assert page.locator(BOT).count() == 0
        hostile = '<img src=x onerror="window.__pwned=1"> **bold** http://evil.example/x'
        _ask(page, hostile)
        user = page.locator(USER).last
        assert user.inner_text().strip() == hostile
        assert user.locator("img, strong, a").count() == 0
        assert page.evaluate("window.__pwned") is None
    finally:
        context.close()


def test_gradio_client_ask_endpoint(app_url):
    from gradio_client import Client

    result = Client(app_url, verbose=False).predict(SEED_QUESTION, api_name="/ask")
    assert result["question"] == SEED_QUESTION
    assert not result["refused"] and result["error"] is None
    assert result["citations"] and any("10 billion euros" in c["sentence"] for c in result["citations"])
    assert result["citations"][0]["source"] == "raisi-iraq-trade-press-conference.txt"


def _sets_top_k(k: int):
    """Matches the server's reply to the top-k change to ``k`` (not any other non-queued event)."""
    def matches(response) -> bool:
        if "/run/predict" not in response.url or response.request.method != "POST":
            return False
        try:
            return (response.request.post_data_json or {}).get("data", [None])[0] == k
        except ValueError:
            return False
    return matches


def _set_top_k(page, k: int, attempts: int = 3, wait_s: float = 20.0) -> None:
    """Type ``k`` into the settings' top-k box and wait for the server's reply to that change
    (the change event's reply, not a fixed sleep). Once in a CI run the reply never came (not
    reproduced in three local runs of the module, one beside a battery, nor in two of this
    test): if none comes within ``wait_s``, the value is typed again, as a user would; the
    failure message lists what the page did send."""
    replies, sent = [], []
    matches = _sets_top_k(k)
    page.on("response", lambda r: replies.append(r) if matches(r) else None)
    page.on("request", lambda r: sent.append(f"{r.method} {r.url} {r.post_data}") if "/gradio_api/" in r.url else None)
    box = page.locator("#rag-settings input[type=number]").first
    for attempt in range(attempts):
        if attempt:
            box.fill(str(k + 1))  # a change of value, so that typing k again is one too
        box.fill(str(k))
        box.press("Enter")
        for _ in range(int(wait_s * 5)):
            if replies:
                return
            page.wait_for_timeout(200)
    pytest.fail(f"no reply to the top-k change after {attempts} tries; box value "
                f"{box.input_value()!r}, visible {box.is_visible()}; requests: {sent}")


def test_clicking_an_earlier_answer_brings_back_its_sources_and_top_k_applies(app_url, browser, tmp_path):
    # select, the settings and clear skip the queue (app.py): these are the browser's view of it
    context, page = _open(browser, app_url)
    try:
        first, second = SEED_QUESTION, "Who was on a state visit to Tehran?"
        _ask(page, first)
        _ask(page, second)
        head = "#rag-sources-box .rag-sources-head"
        assert second in page.locator(head).inner_text()
        page.locator(BOT).first.click()
        page.wait_for_function("(q) => document.querySelector('#rag-sources-box .rag-sources-head')"
                               ".innerText.includes(q)", arg=first, timeout=UI_SECONDS * 1000)
        assert page.locator("#rag-sources-box .rag-more").count() == 1  # k=5: uncited passages listed

        page.click("#rag-settings button, #rag-settings .label-wrap")
        _set_top_k(page, 1)
        _ask(page, "What did Raisi say about the trade volume?")
        page.wait_for_function("() => document.querySelector('#rag-sources-box .rag-sources-head')"
                               ".innerText.includes('Raisi say')", timeout=UI_SECONDS * 1000)
        assert page.locator("#rag-sources-box .rag-more").count() == 0, \
            _last_answer(page).inner_text()  # k=1: one passage, cited
        page.screenshot(path=str(tmp_path / "earlier-answer-and-top-k.png"), full_page=True)
    finally:
        context.close()
