from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import services
from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.forms import AcceptInvitationForm, AccountSettingsForm, InvitationForm, SignupForm
from accounts.models import Invitation, Membership, Role


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated and request.membership:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.signup_request(
            organisation=form.cleaned_data["organisation"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            full_name=form.cleaned_data["full_name"],
        )
        # The same answer whether the address has a login or not (issue 11, item 9).
        return redirect("signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


@require_safe
def signup_sent(request):
    return render(request, "accounts/signup_sent.html")


@require_http_methods(["GET", "POST"])
def signup_confirm(request, token):
    """GET shows a button (mail scanners follow links: a GET must confirm nothing); the POST
    makes the account, logs its Admin in and opens the dashboard."""
    signup_request = services.signup_find(token=token)
    if signup_request is None:
        return render(request, "accounts/signup_invalid.html", status=404)
    error = None
    if request.method == "POST":
        try:
            account, admin = services.signup_confirm(token=token)
        except services.ServiceError as exc:
            error = str(exc)
        else:
            login(request, admin, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! {account.name} has a 14-day Professional trial.")
            return redirect("dashboard")
    return render(request, "accounts/signup_confirm.html", {"signup": signup_request, "error": error},
                  status=400 if error else 200)


@admin_required
@require_http_methods(["GET", "POST"])
def members(request):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, token = services.invitation_create(
                account=request.account, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], invited_by=request.user,
            )
        except services.ServiceError as error:
            form.add_error("email", str(error))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members")
    context = {
        "form": form,
        "memberships": Membership.objects.filter(account=request.account)
        .select_related("user").order_by("user__email"),
        "roles": Role.choices,
        "invitations": Invitation.objects.filter(
            account=request.account, accepted_at__isnull=True
        ).order_by("-created_at"),
    }
    return render(request, "accounts/members.html", context)


def _member(request, pk):
    # Looked up within the account: another account's member is a 404.
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, account=request.account)


@admin_required
@require_POST
def member_role(request, pk):
    membership = _member(request, pk)
    role = request.POST.get("role", "")
    try:
        services.membership_set_role(membership=membership, role=role, actor=Actor.for_user(request.user))
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user.email} is now {Role(role).label}.")
    return redirect("members")


@admin_required
@require_POST
def member_remove(request, pk):
    membership = _member(request, pk)
    try:
        services.membership_remove(membership=membership, actor=Actor.for_user(request.user),
                                   by_user=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user.email} was removed and can no longer log in.")
    return redirect("members")


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token):
    invitation = services.invitation_find(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation=invitation, password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard")
    return render(request, "accounts/accept_invitation.html", {"form": form, "invitation": invitation})


@admin_required
@require_http_methods(["GET", "POST"])
def account_settings(request):
    """The account's settings an Admin changes: its time zone (issue 17)."""
    account = request.account
    form = AccountSettingsForm(request.POST or None, initial={"time_zone": account.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            services.account_set_time_zone(
                account=account, time_zone=form.cleaned_data["time_zone"], actor=Actor.for_user(request.user)
            )
        except services.ServiceError as error:
            form.add_error("time_zone", str(error))
        else:
            messages.success(request, f"Time zone saved: dates and times now read in {account.time_zone}.")
            return redirect("account_settings")
    return render(request, "accounts/settings.html", {"form": form}, status=400 if form.errors else 200)
