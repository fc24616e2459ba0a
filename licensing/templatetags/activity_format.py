from django import template

register = template.Library()


@register.filter
def duration(seconds):
    """Seconds as ``3 h 05 min`` (or ``45 s`` under a minute)."""
    seconds = int(seconds or 0)
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
