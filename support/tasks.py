from support.services import support_breaches_flag


def flag_support_breaches():
    """Every 15 minutes: cases past their first-response due time are flagged and emailed."""
    return len(support_breaches_flag())
