"""The Admin's "Delete the account" page (issue 15): the export, the typed confirmation, the
cancellation during the cooling-off. The rule is in accounts/closure.py."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import closure
from accounts.actors import Actor
from accounts.decorators import admin_required, open_when_closed
from accounts.models import AuditEntry
from accounts.services import ServiceError
from licensing.closure import account_export_zip


def _page(request, *, error="", status=200):
    account = request.account
    exported = AuditEntry.objects.filter(
        account=account, kind=closure.EXPORT_KIND,
    ).order_by("-created_at").values_list("created_at", flat=True).first()
    return render(request, "licensing/account_delete.html", {
        "account": account, "error": error, "last_export": exported,
        "cooling_off_days": closure.COOLING_OFF.days,
    }, status=status)


@admin_required
@open_when_closed
@require_http_methods(["GET", "POST"])
def account_delete(request):
    if request.method == "GET":
        return _page(request)
    try:
        closure.account_close(account=request.account, typed_name=request.POST.get("name", ""),
                              actor=Actor.for_user(request.user))
    except ServiceError as error:
        return _page(request, error=str(error), status=400)
    messages.success(request, "The account is closed. It is erased after the cooling-off unless you cancel.")
    return redirect("account_delete")


@admin_required
@open_when_closed
@require_POST
def account_delete_cancel(request):
    try:
        closure.account_close_cancel(account=request.account, actor=Actor.for_user(request.user))
    except ServiceError as error:
        messages.error(request, str(error))
        return redirect("account_delete")
    messages.success(request, "Deletion cancelled: the account, its agents and its pages work again.")
    return redirect("dashboard")


@admin_required
@open_when_closed
def account_export(request):
    content = account_export_zip(account=request.account, actor=Actor.for_user(request.user))
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{request.account.slug}-export.zip"'
    return response
