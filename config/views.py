"""Project-level pages that compose several apps (so no app has to import a higher one)."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from billing.catalogue_signals import catalogue_cached
from billing.models import AddOn
from billing.selectors import legacy_plans, sold_plans
from support.models import SupportPlan


@require_safe
def pricing(request):
    # From the cache until staff edit the catalogue (billing/catalogue_signals.py).
    return render(request, "pricing.html", catalogue_cached("pricing", _pricing_context))


def _pricing_context():
    plans = list(sold_plans())
    addons = list(AddOn.objects.prefetch_related("eligible_plans"))
    for addon in addons:
        eligible = {p.pk for p in addon.eligible_plans.all()}
        addon.plan_cells = [(plan, plan.pk in eligible) for plan in plans]
    support_plans = list(SupportPlan.objects.prefetch_related("features"))
    features = []
    for feature in support_plans[0].features.all() if support_plans else []:
        values = []
        for plan in support_plans:
            match = next((f.value for f in plan.features.all() if f.feature == feature.feature), "-")
            values.append(match)
        features.append((feature.feature, values))
    return {
        "plans": plans, "legacy_plans": list(legacy_plans()), "addons": addons,
        "support_plans": support_plans, "support_features": features,
    }


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as error:  # any failure means "not reachable"; the reason is reported
        return False, type(error).__name__


def _task_queue_ok():
    try:
        from django_q.brokers import get_broker

        broker = get_broker()
        broker.ping()
        broker.queue_size()  # a real round trip: the ORM broker's ping answers without one
        return True, f"ok ({type(broker).__name__})"
    except Exception as error:
        return False, type(error).__name__


@never_cache
@require_safe
def healthz(request):
    db_ok, db_detail = _database_ok()
    queue_ok, queue_detail = _task_queue_ok()
    healthy = db_ok and queue_ok
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": db_detail,
        "task_queue": queue_detail,
    }
    response = JsonResponse(body, status=200 if healthy else 503)
    if not healthy:
        response["Retry-After"] = "10"
    return response
