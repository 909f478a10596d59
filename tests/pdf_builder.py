"""Small real PDFs with a chosen layout, for the reader and reflow tests.

``layout_pdf(pages)`` writes pages of text lines, each ``(x, y, size, font, text)`` with y
measured from the top of a US-letter page and font "sans" (Helvetica) or "mono" (Courier),
with exact xref offsets, so PDFium and pypdf read it as any PDF from the wild.
"""

from __future__ import annotations

import io

FONTS = {"sans": "Helvetica", "mono": "Courier", "bold": "Helvetica-Bold"}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def layout_pdf(pages: list[list[tuple[float, float, float, str, str]]]) -> bytes:
    n = len(pages)
    font_obj = {name: 3 + 2 * n + i for i, name in enumerate(FONTS)}
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{' '.join(f'{3 + 2 * i} 0 R' for i in range(n))}] /Count {n} >>"]
    fonts = " ".join(f"/{name} {num} 0 R" for name, num in font_obj.items())
    for i, lines in enumerate(pages):
        ops = []
        for x, y, size, font, text in lines:
            ops.append(f"BT /{font} {size} Tf {x} {792 - y} Td ({_escape(text)}) Tj ET")
        stream = "\n".join(ops) or "0 0 m 10 10 l S"  # an empty page still draws something
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << {fonts} >> >> /Contents {4 + 2 * i} 0 R >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    for name in FONTS:
        objs.append(f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS[name]} >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for num, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def paragraph(y: float, lines: list[str], x: float = 72, indent: float = 18, size: float = 11,
              leading: float = 14, font: str = "sans") -> list[tuple]:
    return [(x + (indent if i == 0 else 0), y + leading * i, size, font, t) for i, t in enumerate(lines)]


def encrypted(data: bytes, password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
