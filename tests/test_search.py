"""Search over the index without positions: the index proposes, the text decides.

Stories and queries are drawn from a five-letter alphabet, so nearly every
story holds all the three-letter pieces of a query somewhere while only some
hold the query itself: the case where an index without positions would be
wrong if search trusted it. Every answer is compared with a plain scan.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scraper.archive import Archive, search
from scraper.errors import UsageError
from scraper.models import Article, Tipline

LETTERS = "가나다 A"


def story(n: int, rng: random.Random) -> Article:
    url = f"https://news.kbs.co.kr/news/view.do?ncd={9100000 + n}"
    text = "".join(rng.choice(LETTERS) for _ in range(rng.randint(20, 60)))
    title = "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 10)))
    return Article(url=url, canonical_url=url, site="kbs", article_id=str(9100000 + n), title=title,
                   section=None, published_at=None, updated_at=None, reporters=(), body=text, turns=None,
                   images=(), copyright=None, tipline=Tipline(), related=())


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, tuple[str, str]]]:
    path = tmp_path_factory.mktemp("search") / "archive.db"
    rng = random.Random(5)
    texts: dict[int, tuple[str, str]] = {}
    with Archive.open(path) as archive, archive.batch():
        for n in range(150):
            article = story(n, rng)
            result = archive.ingest(article, url=article.url or "")
            if result.outcome == "new":
                texts[result.archive_id] = (article.title, article.body)
    return path, texts


def scan(texts: dict[int, tuple[str, str]], node: search.Node) -> list[int]:
    """The answer without any index: every story, newest first, checked one by one."""
    return sorted((i for i, (title, body) in texts.items() if search.holds(node, title.lower(), body.lower())),
                  reverse=True)


def random_term(rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 6)))


def test_literal_queries_find_exactly_what_a_scan_finds(stocked: tuple[Path, dict[int, tuple[str, str]]]) -> None:
    path, texts = stocked
    rng = random.Random(8)
    trusted_index_would_err = 0
    with Archive.open(path, read_only=True) as archive:
        for _ in range(200):
            query = random_term(rng).strip()  # search strips; short text takes the scan, tested elsewhere
            if len(query) < search.PIECE:
                continue
            node = search.literal(query)
            expected = scan(texts, node)
            found = [h.archive_id for h in archive.search(query, limit=1000)]
            assert found == expected, query
            candidates = {r[0] for r in archive._conn.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", (search.match_expression(node),))}
            assert candidates >= set(expected), query  # the index never misses a story
            trusted_index_would_err += len(candidates) > len(expected)
    # the alphabet is small enough that the index alone would often have been wrong
    assert trusted_index_would_err > 20


def test_boolean_queries_find_exactly_what_a_scan_finds(stocked: tuple[Path, dict[int, tuple[str, str]]]) -> None:
    path, texts = stocked
    rng = random.Random(9)
    with Archive.open(path, read_only=True) as archive:
        for _ in range(150):
            a, b, c = (random_term(rng).replace(" ", "A") for _ in range(3))  # words: no spaces inside
            query = rng.choice([f"{a} AND {b}", f"{a} {b}", f"{a} OR {b}", f"{a} NOT {b}", f'"{a} {b}" OR {c}',
                                f"({a} OR {b}) NOT {c}", f"{a} OR {b} NOT {c}", f"{a} NOT ({b} OR {c})"])
            expected = scan(texts, search.parse(query))
            assert [h.archive_id for h in archive.search(query, raw=True, limit=1000)] == expected, query


@pytest.mark.parametrize(("query", "tree"), [
    ("abc def", "(abc AND def)"),
    ("abc OR def ghi", "(abc OR (def AND ghi))"),
    ("abc OR def NOT ghi", "(abc OR (def NOT ghi))"),
    ("abc NOT def NOT ghi", "((abc NOT def) NOT ghi)"),
    ("(abc OR def) ghi", "((abc OR def) AND ghi)"),
    ('"a ""b"" c" OR xyz', '(a "b" c OR xyz)'),
    ("ABC", "abc"),
])
def test_precedence_follows_fts5(query: str, tree: str) -> None:
    def show(node: search.Node) -> str:
        if isinstance(node, search.Term):
            return node.text
        return f"({show(node.left)} {node.kind} {show(node.right)})"

    assert show(search.parse(query)) == tree


def test_the_match_expression_asks_for_every_piece_and_never_for_what_not_excludes() -> None:
    assert search.match_expression(search.literal("성남시장")) == '("남시장" AND "성남시")'
    assert search.match_expression(search.literal('a"b')) == '"a""b"'
    assert search.match_expression(search.parse("성남시 NOT 하남시")) == '"성남시"'
    with pytest.raises(UsageError, match="shorter than 3"):
        search.parse("성남시 OR 시장")


def test_snippets_are_one_line_and_marked() -> None:
    body = "첫 줄입니다.\n\n둘째 줄에 성남시장이 나옵니다." + "뒤" * 100
    assert search.snippet("다른 제목", body, "성남시장") == (
        "첫 줄입니다. 둘째 줄에 [성남시장]이 나옵니다." + "뒤" * 33 + "…")
    assert search.snippet("성남시장 회견", body, "성남시장") == "[성남시장] 회견"
    assert search.snippet("제목", "본문", None) == "본문"
