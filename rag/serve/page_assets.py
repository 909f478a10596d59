"""The chat page's own CSS and script (clickable [n] markers scroll to their source card)."""

CSS = """
.rag-sources { font-size: 0.92rem; }
.rag-sources-head { font-weight: 600; margin-bottom: .5rem; }
.rag-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .75rem;
            margin-bottom: .6rem; background: var(--background-fill-secondary); scroll-margin-top: 1rem; }
.rag-card-head { display: flex; gap: .4rem; align-items: baseline; flex-wrap: wrap; }
.rag-n { font-weight: 700; color: var(--color-accent); }
.rag-title { font-weight: 600; }
.rag-meta { font-size: .8rem; opacity: .75; margin: .15rem 0 .35rem; display: flex; gap: .8rem; flex-wrap: wrap; }
.rag-passage { line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere; }
.rag-passage mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: 2px; }
.rag-badge { font-size: .72rem; padding: 0 .4rem; border-radius: 999px; }
.rag-unsupported { background: #fee2e2; color: #991b1b; }
.rag-card.rag-flash { outline: 3px solid var(--color-accent); transition: outline .3s; }
.rag-note, .rag-empty { opacity: .75; font-style: italic; margin-bottom: .5rem; }
.rag-more summary { cursor: pointer; opacity: .8; margin: .3rem 0 .6rem; }
a.rag-cite { text-decoration: none; font-weight: 600; }
#rag-sources-box { max-height: 75vh; overflow-y: auto !important; }
#rag-clear { align-self: center; }
@media (max-width: 768px) { #rag-sources-box { max-height: none; overflow-y: visible !important; } }
"""

PAGE_JS = """
<script>
(function () {
  let pending = null;
  function reveal(id) {
    const el = document.getElementById(id);
    if (!el) return false;
    el.scrollIntoView({behavior: "smooth", block: "nearest"});
    el.classList.add("rag-flash");
    setTimeout(() => el.classList.remove("rag-flash"), 1500);
    return true;
  }
  document.addEventListener("click", function (ev) {
    const a = ev.target.closest && ev.target.closest('a[href^="#src-"]');
    if (!a) return;
    ev.preventDefault();
    const id = a.getAttribute("href").slice(1);
    if (!reveal(id)) { pending = id; setTimeout(() => { pending = null; }, 5000); }
  }, true);
  new MutationObserver(function () {
    if (pending && reveal(pending)) pending = null;
  }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>
"""
"""Page script: a click on an ``[n]`` link scrolls its source card into view; when the card
belongs to another answer, the click also selects that message (gradio's select event),
and the card is revealed as soon as the panel re-renders."""
