import ipaddress
from contextvars import ContextVar

from django.utils.functional import SimpleLazyObject

from config.throttling import client_ip

_request_address = ContextVar("request_address", default=None)


def request_address():
    """The client's address of the request being served (for the audit log), or None."""
    return _request_address.get()


def _valid_address(value):
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:  # a forged or empty X-Forwarded-For entry: no address, not an error
        return None


def _membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    from accounts.models import Membership

    # One query for the membership and its account (every customer page reads both), kept on
    # the user for the request as ``user.membership`` would be.
    membership = Membership.objects.select_related("account").filter(user=user).first()
    if membership is not None:
        user.membership = membership
    return membership


class CurrentAccountMiddleware:
    """Puts the logged-in customer's membership and account on the request (lazily).

    Every customer page reads ``request.account``; it is the only way a view learns which tenant
    it serves, so no view takes an account id from the URL.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership(request))
        request.account = SimpleLazyObject(
            lambda: request.membership.account if request.membership else None
        )
        token = _request_address.set(_valid_address(client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _request_address.reset(token)
