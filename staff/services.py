from django.utils import timezone

from staff.models import DailyMetrics
from staff.selectors import accounts_by_state, arr_by_plan_cents


def daily_metrics_record(*, day=None):
    """Records (or refreshes) today's ARR by plan and accounts by state: state-based, safe to
    run again the same day."""
    day = day or timezone.localdate()
    metrics, _ = DailyMetrics.objects.update_or_create(
        day=day,
        defaults={"arr_cents_by_plan": arr_by_plan_cents(), "accounts_by_state": accounts_by_state()},
    )
    return metrics
