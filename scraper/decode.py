"""Bytes of a page -> text, with the right codec.

Order: a byte-order mark, the charset the server declared, a ``<meta>``
charset in the first 4 KB, strict UTF-8, then detection (charset-normalizer).
Korean pages labelled ``euc-kr`` are decoded as cp949, its superset: Python's
strict euc_kr codec fails on syllables such as 똠 that real pages use.
"""

from __future__ import annotations

import codecs
import re

from scraper.errors import InputError

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_WIDER = {"euc-kr": "cp949", "euc_kr": "cp949", "ks_c_5601-1987": "cp949", "ksc5601": "cp949",
          "x-windows-949": "cp949", "windows-949": "cp949", "iso-8859-1": "cp1252",
          "latin-1": "cp1252", "ascii": "utf-8", "us-ascii": "utf-8", "gb2312": "gb18030",
          "gbk": "gb18030"}


def header_charset(content_type: str | None) -> str | None:
    """The charset a Content-Type header declares, lower-cased; None when it declares none.

    A regular expression, not ``email.message``: this runs on every response,
    and the email parser cost a fortieth of a fetch.
    """
    found = _HEADER_CHARSET.search(content_type) if content_type else None
    return found.group(1).lower() if found else None


def codec_name(label: str | None) -> str | None:
    """The Python codec for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup(_WIDER.get(key, key)).name
    except LookupError:
        return None


_CONTROL = bytes(range(0, 9)) + bytes(range(14, 32))


def looks_binary(data: bytes) -> bool:
    """Control bytes (NUL and friends) never occur in UTF-8, CP949 or ASCII text
    pages; more than 1% of them means an image, an archive or random data."""
    head = data[:8192]
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls > max(2, len(head) // 100)


def decode(data: bytes, *, declared: str | None = None) -> tuple[str, str]:
    """(text, codec used). Raises InputError for data that is not text at all."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    if looks_binary(data):
        raise InputError("the input is binary data, not an HTML or text page")
    labels = [codec_name(declared), meta_codec(data)]
    for codec in [c for c in labels if c] + ["utf-8"]:
        text = _strict(data, codec)
        if text is not None:
            return text, codec
    for codec in [c for c in labels if c] + ["utf-8"]:
        text = data.decode(codec, errors="replace")
        if text.count("\ufffd") <= max(8, len(text) // 2000):
            return text, codec  # the declared codec with a few damaged bytes beats a guess
    return _detect(data)


def meta_codec(data: bytes) -> str | None:
    """The codec a ``<meta>`` in the first 4 KB names, or None."""
    meta = _META_CHARSET.search(data[:4096])
    return codec_name(meta.group(1).decode("ascii", "replace")) if meta else None


def says_utf8(data: bytes, *, declared: str | None = None) -> bool:
    """Whether the page claims UTF-8 (BOM, else the server, else a ``<meta>``) - a
    claim only, which ``decode`` checks and ``extract`` verifies on its output."""
    if data.startswith(codecs.BOM_UTF8):
        return True
    if declared is not None and (codec := codec_name(declared)) is not None:
        return codec == "utf-8"
    return meta_codec(data) == "utf-8"


def _strict(data: bytes, name: str) -> str | None:
    try:
        return data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None



def _detect(data: bytes) -> tuple[str, str]:
    korean = _strict(data, "cp949")
    if korean is not None and _hangul_text(korean):
        # Detection would say cp949 too (or be overruled below), at a tenth of its ~2 ms.
        return korean, "cp949"
    from charset_normalizer import from_bytes

    match = from_bytes(data[:200_000]).best()
    name = codec_name(match.encoding) if match is not None else None
    if name is None:
        return data.decode("utf-8", errors="replace"), "utf-8"
    # Korean text is far more likely cp949 than the single-byte codes detection
    # sometimes picks for short samples.
    if name in ("euc_kr", "johab") or (name != "cp949" and korean is not None and _mostly_hangul(data)):
        name = "cp949"
    if name == "cp949" and korean is not None:
        return korean, name  # decoded already, strictly
    return data.decode(name, errors="replace"), name


def _hangul_text(text: str) -> bool:
    """At least 10 Hangul syllables and 4 in 5 of the characters past ASCII.

    Bytes of other East Asian codes rarely decode as cp949 at all (GB2312's
    common 0xC9 lead byte is invalid in it), and when they do they read as
    syllables scattered among symbols and hanja, not as running Korean.
    """
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    # In UTF-8 only U+A000-U+DFFF start with the bytes EA-ED, and from cp949 that is exactly the syllables
    utf8 = text.encode("utf-8", "surrogatepass")
    hangul = sum(utf8.count(lead) for lead in (b"\xea", b"\xeb", b"\xec", b"\xed"))
    return hangul >= 10 and 5 * hangul >= 4 * non_ascii


def _mostly_hangul(data: bytes) -> bool:
    text = data[:20_000].decode("cp949", errors="replace")
    hangul = sum(1 for ch in text if "\uac00" <= ch <= "\ud7a3")
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and hangul / letters > 0.3
