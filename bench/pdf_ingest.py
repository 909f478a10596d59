"""PDF ingestion: a 300-page real PDF indexed, against embedding its text alone (same run).

``python bench/pdf_ingest.py [--pdf PATH] [--pages 300] [--repeat 3] [--compare]``

The PDF is the first ``--pages`` pages of the GnuTLS manual that Debian's ``gnutls-doc``
ships (``apt-get install gnutls-doc``: /usr/share/doc/gnutls-doc/gnutls.pdf, 790 pages of
pdfTeX output), cut with pypdf, or any PDF given with ``--pdf``. Measured:

- ``index``: ``index_paths`` on a fresh index (the PDF's checks, PDFium extraction, reflow,
  chunking, embedding, BM25, FAISS, writing), median of ``--repeat`` runs;
- ``embed_only``: the same chunks' texts through the same embedder's ``embed_batch``, median
  of as many runs, interleaved with the index runs; ``ratio`` = index / embed_only (the
  issue's bound: under 2), in wall seconds and in this process's CPU seconds (all its
  threads: steadier than wall time on a machine other jobs share);
- the PDF library on its own, each in a fresh process: seconds and peak memory (VmHWM over
  the process's peak after imports) for PDFium's characters and layout (``read_pages``), the
  reflow, pypdf's bomb check, and, for comparison, pypdf's ``extract_text`` (the reader
  before) and (``--compare``) pdfminer.six's layout analysis on the first 30 pages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GNUTLS = Path("/usr/share/doc/gnutls-doc/gnutls.pdf")

_PROBE = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from bench.common import status_mb
what, path = sys.argv[1], sys.argv[2]
data = Path(path).read_bytes()
import pypdf, pypdfium2  # noqa: F401
from rag.ingest import pdf as P, reflow as R
before = status_mb("VmHWM")
t = time.perf_counter()
if what == "pdfium_layout":
    pages = P.read_pages(data, "x"); n = len(pages)
elif what == "reflow":
    pages = P.read_pages(data, "x"); t = time.perf_counter(); R.reflow(pages); n = len(pages)
elif what == "pypdf_bomb_check":
    P.check_pdf(data, "x"); n = len(pypdf.PdfReader(path).pages)
elif what == "pypdf_extract_text":
    r = pypdf.PdfReader(path); n = len(r.pages)
    for p in r.pages: p.extract_text()
elif what == "pdfminer_layout_30_pages":
    from pdfminer.high_level import extract_pages
    n = sum(1 for _ in extract_pages(path, maxpages=30))
seconds = time.perf_counter() - t
print("PROBE " + json.dumps({"seconds": round(seconds, 3), "pages": n, "ms_per_page": round(1000 * seconds / n, 2),
                             "peak_mb_over_imports": round(status_mb("VmHWM") - before, 1)}))
"""


def cut_pdf(source: Path, pages: int, out: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(str(source))
    writer = PdfWriter()
    for page in reader.pages[:pages]:
        writer.add_page(page)
    with out.open("wb") as handle:
        writer.write(handle)
    return out


def probe(what: str, pdf: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, what, str(pdf), str(ROOT)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.split("PROBE ", 1)[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pdf", type=Path, help="a PDF to use instead of the GnuTLS manual's first pages")
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--compare", action="store_true", help="also time pdfminer.six (pip install pdfminer.six)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pdf_ingest.json")
    args = ap.parse_args(argv)

    from rag.ingest import chunk_document
    from rag.config import Settings
    from rag.ingest import load_documents
    from rag.index import build_embedder
    from rag.index import embed_text, index_paths

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        docs = tmp / "docs"
        docs.mkdir()
        if args.pdf:
            pdf = docs / args.pdf.name
            pdf.write_bytes(args.pdf.read_bytes())
        else:
            if not GNUTLS.exists():
                print(f"error: {GNUTLS} is missing: apt-get install gnutls-doc, or pass --pdf", file=sys.stderr)
                return 2
            pdf = cut_pdf(GNUTLS, args.pages, docs / f"gnutls-first-{args.pages}-pages.pdf")
        settings = Settings(index_dir=tmp / "index")
        embedder = build_embedder(settings)
        embedder.embed_batch(["warm up the model"])
        [doc] = load_documents([docs]).documents
        chunks = chunk_document(doc, settings.chunk_words, settings.chunk_overlap_sentences)
        texts = [embed_text(c) for c in chunks]
        index_s, embed_s, index_cpu, embed_cpu = [], [], [], []
        for i in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            embedder.embed_batch(texts)
            embed_s.append(time.perf_counter() - t)
            embed_cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            index_paths([docs], settings.replace(index_dir=tmp / f"index-{i}"), embedder, log=lambda m: None)
            index_s.append(time.perf_counter() - t)
            index_cpu.append(time.process_time() - c)
            print(f"run {i + 1}: index {index_s[-1]:.2f} s ({index_cpu[-1]:.2f} CPU s), "
                  f"embed only {embed_s[-1]:.2f} s ({embed_cpu[-1]:.2f} CPU s)", file=sys.stderr)
        libs = {what: probe(what, pdf) for what in ("pdfium_layout", "reflow", "pypdf_bomb_check",
                                                    "pypdf_extract_text")
                + (("pdfminer_layout_30_pages",) if args.compare else ())}
        from pypdf import PdfReader

        result = {
            "pdf": pdf.name, "pages": len(PdfReader(str(pdf)).pages), "bytes": pdf.stat().st_size,
            "text_chars": len(doc.text), "words": len(doc.text.split()), "chunks": len(chunks),
            "embedder": embedder.name, "repeat": args.repeat,
            "index_seconds": [round(x, 2) for x in index_s], "embed_only_seconds": [round(x, 2) for x in embed_s],
            "index_median_s": round(statistics.median(index_s), 2),
            "embed_only_median_s": round(statistics.median(embed_s), 2),
            "ratio": round(statistics.median(index_s) / statistics.median(embed_s), 3),
            "index_cpu_s": [round(x, 2) for x in index_cpu], "embed_only_cpu_s": [round(x, 2) for x in embed_cpu],
            "cpu_ratio": round(statistics.median(index_cpu) / statistics.median(embed_cpu), 3),
            "pdf_library": libs,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
