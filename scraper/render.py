"""Articles as people read them (``--format text``) and as machines do (json, jsonl)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .models import Article


def as_json(articles: Sequence[Article], *, single: bool) -> str:
    data = articles[0].to_dict() if single and len(articles) == 1 else [a.to_dict() for a in articles]
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_jsonl(articles: Sequence[Article]) -> str:
    return "\n".join(json.dumps(a.to_dict(), ensure_ascii=False) for a in articles)


def as_text(article: Article) -> str:
    lines = [article.title or "(no title)"]
    facts = [article.section, _when(article), ", ".join(_reporter(r.name, r.email) for r in article.reporters)]
    lines.append(" · ".join(f for f in facts if f))
    if article.canonical_url or article.url:
        lines.append(article.canonical_url or article.url or "")
    lines += ["", article.body or "(no body text: a video-only item or not an article)", ""]
    if article.images:
        lines += ["Images:"] + [f"  {i.url}" + (f"  ({i.caption})" if i.caption else "") for i in article.images]
    if article.tipline:
        tip = article.tipline
        contacts = [*tip.phones, *tip.emails, *(f"KakaoTalk {k}" for k in tip.kakaotalk), *tip.urls]
        lines.append("Tip-line: " + ", ".join(contacts))
    if article.copyright:
        lines.append("Copyright: " + article.copyright)
    if article.related:
        lines.append("Related:")
        lines += [f"  [{r.kind}] {r.title}" + (f"  {r.url}" if r.url else "") for r in article.related]
    return "\n".join(lines).rstrip() + "\n"


def _when(article: Article) -> str | None:
    if not article.published_at:
        return None
    if article.updated_at and article.updated_at != article.published_at:
        return f"{article.published_at} (updated {article.updated_at})"
    return article.published_at


def _reporter(name: str, email: str | None) -> str:
    return f"{name} <{email}>" if email else name
