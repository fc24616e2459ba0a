"""Marks what a name's glyphs hide (issue 11, item 4): mixed scripts, invisible characters, and
the code points, so that three look-alike ``Eva`` users can be told apart. Formatting only."""

from django import template
from django.utils.html import format_html

from accounts.lookalike import code_points, lookalike, skeleton
from licensing.models import IdentityKind

register = template.Library()


def _logon(user):
    where = user.domain if user.identity_kind == IdentityKind.DOMAIN else user.machine_hostname
    return where, user.username


@register.filter
def lookalike_mark(user):
    """A warning beside a tracked user's logon whose domain, machine or username mixes scripts
    or holds invisible characters, with the username's code points (on hover and in text)."""
    where, username = _logon(user)
    found = [(what, lookalike(text)) for what, text in (("username", username), ("domain", where)) if text]
    flagged = [(what, mark) for what, mark in found if mark.flagged]
    if not flagged:
        return ""
    describe = "; ".join(f"{what} {mark.describe()}" for what, mark in flagged)
    return format_html(
        '<span class="lookalike" title="{}">&#9888; {}</span> <small class="code-points">{}</small>',
        f"{username}: {code_points(username)}", describe, code_points(username),
    )


@register.filter
def looks_like(candidate, user):
    """Whether two different logons read the same (one skeleton, accounts.lookalike)."""
    a, b = _logon(candidate), _logon(user)
    return a != b and tuple(map(skeleton, a)) == tuple(map(skeleton, b))


@register.filter
def code_points_of(user):
    return code_points(user.username)
