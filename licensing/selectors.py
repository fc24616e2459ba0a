from django.db.models import Count, F, Max, Min, Q
from django.utils.functional import cached_property

from billing.selectors import subscription_for
from licensing.compliance import compliance_state_at, compliance_view, licenses_of
from licensing.models import (
    AccountLicensing,
    ComplianceState,
    IdentityKind,
    TrackedUser,
    TrackedUserMachine,
    TrackedUserState,
)
from licensing.reports import history_extra_months_of, storage_limit_bytes_for


def account_licensing(*, account):
    """The account's licensing row (used count, compliance), unsaved default if none yet."""
    return AccountLicensing.objects.filter(account=account).first() or AccountLicensing(account=account)


def data_access_blocked(*, account=None, licensing=None):
    """Reports, exports and the read API are closed while the account is blocked (as it is
    now: a grace period past its end is blocked before the hourly job writes it). From the
    ``licensing`` row when the caller has read it, else one query."""
    licensing = licensing if licensing is not None else account_licensing(account=account)
    return compliance_state_at(licensing)[0] == ComplianceState.BLOCKED


class AccountStanding:
    """The account's licensing row with its subscription and plan, read once (``account_standing``):
    a page that needs them also hands the header its ``usage``, so the header reads nothing."""

    def __init__(self, *, account, row, subscription):
        self.account = account
        self.row = row  # None: no licensing row yet
        self.subscription = subscription

    @cached_property
    def licensing(self):
        """The licensing row, or the unsaved default of an account that has none yet."""
        return self.row if self.row is not None else AccountLicensing(account=self.account)

    @cached_property
    def usage(self):
        """``license_usage``'s answer, from what is read already."""
        return license_usage_of(row=self.row, subscription=self.subscription)


def account_standing(*, account) -> AccountStanding:
    """The licensing row with the subscription and its plan: one query, two for an account that
    has no licensing row yet."""
    row = (
        AccountLicensing.objects.select_related("account__subscription__plan")
        .filter(account_id=account.pk).first()
    )
    if row is not None:
        subscription = getattr(row.account, "subscription", None)
    else:
        subscription = subscription_for(account=account)
    return AccountStanding(account=account, row=row, subscription=subscription)


def license_usage_of(*, row, subscription):
    """``license_usage`` from a licensing row (None: none yet) and the subscription with its plan
    already read: no query."""
    return compliance_view(row, licenses_of(subscription),
                           grace_days=subscription.plan.grace_period_days if subscription else None)


def license_usage(*, account):
    """``{"used", "licenses", "over", "state", ...}`` for the avatar menu and the compliance
    banner, from the maintained counter: one query (the licensing row with the subscription and
    its plan), two for an account that has no licensing row yet."""
    return account_standing(account=account).usage


USERS_PAGE_ORDERS = {
    "last_log": "last_log_record_at",
    "-last_log": "-last_log_record_at",
    "name": "username",
    "-name": "-username",
}


def tracked_users_for_page(*, account, state="", query="", order="last_log"):
    """The Users page's rows, unevaluated: the paginator takes one page of it. Deleted users are
    listed only when asked for. Oldest last log record first by default: inactive users on top."""
    qs = TrackedUser.objects.filter(account=account)
    if state:
        qs = qs.filter(state=state)
    else:
        qs = qs.exclude(state=TrackedUserState.DELETED)
    if query:
        qs = qs.filter(
            Q(username__icontains=query) | Q(alias__icontains=query)
            | Q(domain__icontains=query) | Q(machine_hostname__icontains=query)
        )
    field = USERS_PAGE_ORDERS.get(order, USERS_PAGE_ORDERS["last_log"])
    # Every tracked user has a last log record (it is made by a check-in), so the databases'
    # own placement of NULLs never matters and the plain index below serves the order.
    expression = F(field.lstrip("-"))
    expression = expression.desc() if field.startswith("-") else expression.asc()
    # The tie-breaker follows the direction, so that both orders walk one index (forwards or
    # backwards) and a page of 100,000 users reads 51 rows instead of sorting them all.
    tie = "-pk" if field.startswith("-") else "pk"
    return qs.select_related("merged_into").order_by(expression, tie)


def machines_count_for(users):
    """{user id: machines seen on} for one page of users, in one query."""
    ids = [u.pk for u in users]
    return dict(
        TrackedUserMachine.objects.filter(tracked_user_id__in=ids)
        .values("tracked_user_id").annotate(n=Count("id")).values_list("tracked_user_id", "n")
    )


def storage_limit(*, subscription):
    """The storage the account may keep (None: no limit): the plan's limit plus what Data History
    adds. One query, and only for a plan with a limit."""
    plan = subscription.plan if subscription else None
    if plan is None or plan.storage_limit_bytes is None:
        return None
    return storage_limit_bytes_for(plan=plan, extra_history_months=history_extra_months_of(subscription))


# The Users page suggests this many names at most (the largest groups first).
NAMESAKES_SHOWN = 10


def standalone_namesakes_qs(*, account):
    """Active stand-alone users (identity (machine, user)) of the account, as a queryset."""
    return TrackedUser.objects.filter(
        account=account, identity_kind=IdentityKind.MACHINE, state=TrackedUserState.ACTIVE
    )


def standalone_namesakes(*, account):
    """The Eva and Bob case (issue 15): one username seen on several stand-alone machines is one
    tracked user per machine, a license each. ``[{"name", "users", "licenses_reclaimed"}]``, the
    largest groups first; a group whose users already share one alias is not suggested again.
    Two queries whatever the users (a GROUP BY, then the users of the names it found)."""
    groups = list(
        standalone_namesakes_qs(account=account).order_by().values("identity_name")
        .annotate(n=Count("pk"), min_alias=Min("alias"), max_alias=Max("alias"))
        .filter(n__gt=1).exclude(Q(min_alias=F("max_alias")) & ~Q(min_alias=""))
        .order_by("-n", "identity_name")[:NAMESAKES_SHOWN]
    )
    if not groups:
        return []
    names = [g["identity_name"] for g in groups]
    users = {}
    for user in standalone_namesakes_qs(account=account).filter(identity_name__in=names).order_by(
        F("last_log_record_at").desc(nulls_last=True), "-pk"
    ):
        users.setdefault(user.identity_name, []).append(user)
    return [
        {"name": g["identity_name"], "users": users.get(g["identity_name"], []), "licenses_reclaimed": g["n"] - 1}
        for g in groups
    ]
