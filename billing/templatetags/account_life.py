from django import template

register = template.Library()


@register.filter
def minus(value, other):
    """``{{ used|minus:licenses }}``: how many users above the licenses (formatting only)."""
    try:
        return int(value) - int(other)
    except (TypeError, ValueError):
        return ""
