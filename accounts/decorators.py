from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def _guard(view, admin_only):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = request.membership
        if not membership:
            # Staff logins and orphans have no customer account: customer pages are not theirs.
            raise PermissionDenied("This page belongs to a customer account.")
        if admin_only and not membership.is_admin:
            raise PermissionDenied("Only an account Admin can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def member_required(view):
    """A customer page: anonymous visitors go to /login/, logins without an account get 403."""
    return _guard(view, admin_only=False)


def admin_required(view):
    """A customer page for account Admins only: a Viewer gets 403."""
    return _guard(view, admin_only=True)
