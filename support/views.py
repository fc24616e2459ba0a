from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.decorators import member_required
from accounts.services import ServiceError
from billing.selectors import subscription_for
from support import services
from support.coverage import COVERAGE_TIMEZONE
from support.forms import CaseForm, ReplyForm
from support.selectors import (
    cases_for,
    entitlements_remaining,
    support_catalogue,
    support_plan_current,
)

CASES_SHOWN = 100


def _quote_offers(support_plan, catalogue):
    """The plans above the current one, for the "Ask for a quote" buttons."""
    current_order = support_plan.plan.sort_order if support_plan else -1
    return [p for p in catalogue if p.sold_by_quote and p.sort_order > current_order]


def _features(support_plan, catalogue):
    """The current plan's features, as the catalogue (cached) has them."""
    plan = next((p for p in catalogue if p.pk == support_plan.plan_id), None)
    return list(plan.features.all()) if plan else list(support_plan.plan.features.all())


# Every member may read the Support page (Viewers too: they see what their account has and how
# its cases stand); only Admins open cases, reply and ask for quotes. The page is not behind the
# data-access block: PRODUCT.md says blocked accounts must still reach support.
@member_required
@require_http_methods(["GET", "POST"])
def support_home(request):
    account = request.account
    subscription = subscription_for(account=account)
    support_plan = support_plan_current(account=account, subscription=subscription)
    is_admin = request.membership.is_admin
    form = None
    if support_plan is not None and is_admin:
        form = CaseForm(request.POST or None, plan=support_plan.plan)
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only an account Admin opens support cases.")
        if form is None:
            messages.error(request, "Support plans need a paid plan.")
            return redirect("support")
        if form.is_valid():
            try:
                case = services.case_open(
                    account=account, user=request.user, actor=Actor.for_user(request.user),
                    **form.cleaned_data,
                )
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Case #{case.pk} opened. We will answer by email.")
                return redirect("support_case", case_id=case.pk)
    catalogue = support_catalogue() if support_plan else []
    context = {
        "subscription": subscription,
        "support_plan": support_plan,
        "features": _features(support_plan, catalogue) if support_plan else [],
        "entitlements": entitlements_remaining(support_plan=support_plan),
        "cases": list(cases_for(account=account)[:CASES_SHOWN]),
        "form": form,
        "quote_offers": _quote_offers(support_plan, catalogue) if is_admin and support_plan else [],
        "coverage_zone": COVERAGE_TIMEZONE.key,
    }
    return render(request, "support/support.html", context)


@member_required
@require_http_methods(["GET", "POST"])
def case_detail(request, case_id):
    # Looked up within the account: another account's case number is a 404.
    case = get_object_or_404(
        cases_for(account=request.account).select_related("opened_by"), pk=case_id
    )
    is_admin = request.membership.is_admin
    form = ReplyForm(request.POST or None) if is_admin and case.is_open else None
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied("Only an account Admin writes on support cases.")
        actor = Actor.for_user(request.user)
        try:
            if request.POST.get("action") == "phone_and_remote":
                services.case_request_phone_and_remote(case=case, actor=actor)
                messages.success(request, "Phone and remote support requested: we will call you.")
                return redirect("support_case", case_id=case.pk)
            if form is not None and form.is_valid():
                services.case_reply_add(case=case, author=request.user, body=form.cleaned_data["body"])
                messages.success(request, "Reply sent.")
                return redirect("support_case", case_id=case.pk)
            if form is None:
                messages.error(request, "This case is closed; open a new one.")
                return redirect("support_case", case_id=case.pk)
        except ServiceError as error:
            messages.error(request, str(error))
            return redirect("support_case", case_id=case.pk)
    context = {
        "case": case,
        "replies": list(case.replies.select_related("author")),
        "form": form,
        "can_ask_phone": is_admin and case.is_open and case.plan.phone_and_remote
        and case.channel != "phone_and_remote",
    }
    return render(request, "support/case_detail.html", context)
