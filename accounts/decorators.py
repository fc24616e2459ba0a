from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


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
