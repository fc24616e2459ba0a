"""The Integrations page (API tokens) for account Admins. Views parse, call a service, render."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.services import ServiceError
from connect import selectors, services
from connect.forms import ApiTokenForm
from connect.models import ApiToken


@admin_required
@require_http_methods(["GET", "POST"])
def integrations(request):
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = services.api_token_create(
                account=request.account, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                actor=Actor.for_user(request.user),
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(account=request.account).order_by("-created_at", "-id"),
        "new_secret": new_secret,
        "has_addon": selectors.account_has_activconnect(account=request.account),
    }
    response = render(request, "connect/integrations.html", context)
    if new_secret:
        response["Cache-Control"] = "no-store"  # the token is shown once: never from a cache
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, account=request.account, pk=token_id)
    if request.method == "POST":
        services.api_token_revoke(token=token, actor=Actor.for_user(request.user))
        messages.success(request, f"API token {token.prefix} revoked: tools using it are refused from now on.")
        return redirect("integrations")
    return render(request, "connect/token_revoke.html", {"token": token})
