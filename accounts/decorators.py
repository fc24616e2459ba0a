from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

CLOSURE_PAGE = "/account/delete/"


def open_when_closed(view):
    """Marks a page that stays open while the account is closed (the closure page, the export)."""
    view.open_when_closed = True
    return view


def _guard(view, allowed, refusal=""):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = request.membership
        if not membership:
            # Staff logins and orphans have no customer account: customer pages are not theirs.
            raise PermissionDenied("This page belongs to a customer account.")
        if not allowed(membership):
            raise PermissionDenied(refusal)
        if membership.account.closed_at is not None and not getattr(view, "open_when_closed", False):
            # Issue 15: a closed account's pages are shut at once; its Admins may still cancel.
            if membership.is_admin:
                return redirect(CLOSURE_PAGE)
            raise PermissionDenied(
                f"{membership.account.name} is closed and will be erased on "
                f"{membership.account.erase_after:%d %B %Y}. An Admin of the account can cancel."
            )
        return view(request, *args, **kwargs)

    return wrapper


def member_required(view):
    """A customer page: anonymous visitors go to /login/, logins without an account get 403."""
    return _guard(view, lambda membership: True)


def admin_required(view):
    """A customer page for account Admins only: a Viewer or a Billing member gets 403."""
    return _guard(view, lambda membership: membership.is_admin, "Only an account Admin can do this.")


def billing_required(view):
    """Invoices, orders, payments and the card on file: Admins and Billing members."""
    return _guard(view, lambda membership: membership.can_bill,
                  "Only an account Admin or a Billing member can see billing.")


def activity_required(view):
    """Reports of tracked people's activity: Admins and Viewers (not Billing members)."""
    return _guard(view, lambda membership: membership.sees_activity,
                  "Billing members see billing, not activity reports.")
