"""64-bit SimHash over character 4-grams, and the banded keys that find near neighbours.

Why these choices (measured on Korean news text written for the tests; see
``tests/test_simhash.py``):

* Text is NFKC-normalised, lower-cased and stripped to letters and digits, so
  whitespace, punctuation and line-break edits cost 0 bits.
* Features are the *distinct* character 4-grams. Korean words are 2-4
  syllables, so a 4-gram spans a word or a word pair. Counting each 4-gram
  once matters: endings every article repeats dozens of times (습니다,
  했습니다) otherwise push the same bits the same way in every hash, and
  synthetic news then shared index buckets 8x more often than chance.
* A 4-gram that touches a digit counts three times. Template siblings (two
  weather reports, two market closes) share their wording and differ in their
  figures; with equal weights the closest weather pair was 6-7 bits apart,
  with weight 3 it is 15 (market closes 16), while edits of one story move
  about as little as before.
* Light edits (a sentence replaced or a paragraph added) of stories with
  about 1,300 letters (1,700 characters, a typical KBS story): median 3 bits,
  p90 6, max 9; at 880 letters median 4, p90 8; at 400 letters median 7, p90
  12 - a 64-bit hash is a noisy estimate, and short texts pay for it.
* Each 4-gram is hashed as ``C(c0) ^ rot8(C(c1)) ^ rot16(C(c2)) ^ rot24(C(c3))``
  with ``C`` a per-character table lookup (a cyclic-polynomial hash). The
  rotations move whole bytes, so each 8-bit slice of every shingle's hash is
  computed for all shingles at once with ``bytes.translate`` and big-integer
  XOR; no Python loop runs per shingle and bit.

Near-neighbour keys: the 64 bits are cut into 8 blocks of 8 bits and every
pair of blocks (28 pairs) becomes one 21-bit key (5 bits pair number, 16 bits
value). Two hashes within Hamming distance 6 differ in at most 6 blocks, so at
least one whole pair of blocks agrees and they share a key: a lookup by keys
finds *every* neighbour within 6 bits (and, sampled, 97% at 7 and 90% at 8),
while each key is as selective as a 16-bit band.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from array import array
from collections.abc import Iterable

BITS = 64
#: shingle length in characters
SHINGLE = 4
#: weight of a shingle that contains an ASCII digit (after NFKC)
DIGIT_WEIGHT = 3
#: the largest distance the pair keys are guaranteed to find
MAX_INDEXED_DISTANCE = 6

#: bytes of one 4-gram in ``_bit_counts``'s input: four 16-bit characters
_UNIT = 8
if array("Q").itemsize != _UNIT:  # pragma: no cover - true on every platform CPython supports
    raise ImportError("scraper.archive.simhash needs 64-bit array items")
_BLOCKS = 8
_PAIRS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(_BLOCKS), 2))
_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"[0-9]+")
#: the low 64 bits: a stored (signed) hash & MASK is the unsigned hash
MASK = (1 << BITS) - 1


def _tables(label: str) -> tuple[bytes, ...]:
    """Eight 256-byte translation tables, fixed forever: stored hashes depend on them."""
    out = []
    for group in range(BITS // 8):
        seed = f"kbs-archive-simhash/{label}/{group}".encode()
        out.append(hashlib.shake_256(seed).digest(256))
    return tuple(out)


# C(c) for a UTF-16 code unit c = LOW[g][c & 0xFF] ^ HIGH[g][c >> 8], byte g of 8
_LOW = _tables("low")
_HIGH = _tables("high")


def features_text(title: str, body: str) -> str:
    """The text SimHash reads: title then body, letters and digits only, lower-cased."""
    return _clean(title) + _clean(body)


def feature_length(body: str) -> int:
    """Length of the body as SimHash sees it (used for the minimum-length rule)."""
    return len(_clean(body))


def features(title: str, body: str) -> tuple[str, int]:
    """``features_text`` and ``feature_length`` of the body in one pass (ingest needs both)."""
    cleaned = _clean(body)
    return _clean(title) + cleaned, len(cleaned)


def _clean(text: str) -> str:
    lowered = unicodedata.normalize("NFKC", text).lower()
    # Dropping spaces and newlines with str.replace first leaves the (slow,
    # per-match) regex only the punctuation: 60 us instead of 250 us for 2,000 chars.
    return _NOT_WORD.sub("", lowered.replace(" ", "").replace("\n", ""))


def simhash(text: str) -> int:
    """SimHash (unsigned 64-bit) of text already passed through ``features_text``."""
    units = _distinct_units(text)
    # 4-grams that touch a digit count DIGIT_WEIGHT times: once among all, the rest here
    if digits := _digit_shingles(text):
        units += _units_of(digits) * (DIGIT_WEIGHT - 1)
    counts = _bit_counts(units)
    total = len(units) // _UNIT
    result = 0
    for bit, ones in enumerate(counts):
        if 2 * ones > total:
            result |= 1 << bit
    return result


def _distinct_units(text: str) -> bytes:
    """The distinct 4-grams of ``text`` as units (see ``_units_of``), in no particular order.

    Taken straight from the text's UTF-16: the 4-grams starting at every
    fourth character are consecutive 8-byte words, so four arrays of 64-bit
    integers made in C hold them all and a set of those integers drops the
    repeats, with no string made per 4-gram (about twice as fast as
    ``_shingles``). The integers only stand for their 8 bytes, which
    ``tobytes`` gives back in any byte order. A text beyond the BMP (UTF-16
    surrogates) takes the string route, as two different characters may
    share their low 16 bits.
    """
    wide = text.encode("utf-16-le")
    if len(text) < SHINGLE or len(wide) != 2 * len(text):
        return _units_of(_shingles(text))
    windows = len(text) - SHINGLE + 1
    distinct: set[int] = set()
    for first in range(SHINGLE):
        count = (windows - first + SHINGLE - 1) // SHINGLE  # windows starting at first, first + 4, ...
        distinct.update(array("Q", wide[2 * first:2 * first + _UNIT * count]))
    return array("Q", distinct).tobytes()


def _units_of(shingles: Iterable[str]) -> bytes:
    """Each 4-gram as one 8-byte unit: the low 16 bits of its characters, little-endian, as ``C`` reads them."""
    wide = "".join(shingles).encode("utf-32-le")  # one character per 4 bytes, even beyond the BMP
    units = bytearray(len(wide) // 2)
    units[0::2], units[1::2] = wide[0::4], wide[1::4]
    return bytes(units)


def _shingles(text: str) -> set[str]:
    """The distinct 4-grams. Counting each once keeps endings that every article
    repeats (습니다, 했습니다) from steering the same bits in every hash: with
    counts, synthetic news shared key buckets 8x more than chance; distinct, 1.1x."""
    if len(text) < SHINGLE:
        return {text.ljust(SHINGLE, "\0")}
    # slices made by map() in C: a fifth faster than a set comprehension
    return set(map(text.__getitem__, map(slice, range(len(text) - SHINGLE + 1), range(SHINGLE, len(text) + 1))))


def _digit_shingles(text: str) -> set[str]:
    """The distinct 4-grams holding at least one ASCII digit."""
    if len(text) < SHINGLE:
        return _shingles(text) if _DIGITS.search(text) else set()
    # A 4-gram starting at i holds a digit of the run [start, end) when start - 3 <= i < end.
    last = len(text) - SHINGLE
    starts: set[int] = set()
    for match in _DIGITS.finditer(text):
        starts.update(range(max(0, match.start() - SHINGLE + 1), min(match.end() - 1, last) + 1))
    return {text[i:i + SHINGLE] for i in starts}


def _bit_counts(units: bytes) -> list[int]:
    """For each of the 64 bits, how many of the units' hashes have it set.

    Byte 2k (2k + 1) of every unit is the low (high) byte of its k-th
    character, so one ``translate`` per (table, column) hashes that character
    of all the 4-grams at once; XOR-ing the columns gives one byte lane per 4-gram.
    """
    lows = [units[2 * k::_UNIT] for k in range(SHINGLE)]
    highs = [units[2 * k + 1::_UNIT] for k in range(SHINGLE)]
    masks = [_lane_mask(j, len(units) // _UNIT) for j in range(8)]
    counts: list[int] = []
    for g in range(BITS // 8):
        lanes = 0
        for k in range(SHINGLE):
            table = (g + k) % (BITS // 8)  # the byte rotation of the k-th character's hash
            lanes ^= int.from_bytes(lows[k].translate(_LOW[table]), "little")
            lanes ^= int.from_bytes(highs[k].translate(_HIGH[table]), "little")
        counts.extend((lanes & mask).bit_count() for mask in masks)
    return counts


_lane_masks: dict[int, int] = {}


def _lane_mask(bit: int, windows: int) -> int:
    """Bit ``bit`` of every byte lane, built once at a generous length and cut by ``&``."""
    mask = _lane_masks.get(bit)
    if mask is None or mask.bit_length() < 8 * windows:
        mask = int.from_bytes(bytes((1 << bit,)) * max(2 * windows, 8192), "little")
        _lane_masks[bit] = mask
    return mask


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & MASK).bit_count()


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit: store the hash as its two's complement."""
    return value - (1 << BITS) if value >= 1 << (BITS - 1) else value


def to_unsigned(value: int) -> int:
    return value & MASK


def band_keys(value: int) -> list[int]:
    """The 28 pair-of-blocks keys of a hash (see the module docstring)."""
    blocks = [(value >> (8 * i)) & 0xFF for i in range(_BLOCKS)]
    return [(n << 16) | (blocks[a] << 8) | blocks[b] for n, (a, b) in enumerate(_PAIRS)]
