from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.forms import AcceptInvitationForm, AccountSettingsForm, InvitationForm, SignupForm
from accounts.mail import email_queue
from accounts.models import Invitation, Membership


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated and request.membership:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, admin = services.account_signup(
                organisation=form.cleaned_data["organisation"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                full_name=form.cleaned_data["full_name"],
            )
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            login(request, admin, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome! {account.name} has a 14-day Professional trial.")
            return redirect("dashboard")
    return render(request, "accounts/signup.html", {"form": form})


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
            link = settings.SITE_URL.rstrip("/") + reverse("accept_invitation", args=[token])
            email_queue(
                subject=f"You are invited to {request.account.name}",
                body=f"{request.user.email} invited you to join {request.account.name} as "
                f"{invitation.get_role_display()}.\n\nAccept: {link}\n\n"
                f"The link works for {services.INVITATION_DAYS} days.",
                recipients=[invitation.email],
            )
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members")
    context = {
        "form": form,
        "memberships": Membership.objects.filter(account=request.account)
        .select_related("user").order_by("user__email"),
        "invitations": Invitation.objects.filter(
            account=request.account, accepted_at__isnull=True
        ).order_by("-created_at"),
    }
    return render(request, "accounts/members.html", context)


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
