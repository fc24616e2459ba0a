"""The Agents and Users pages (account Admins). Views parse, call a service, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.decorators import admin_required
from accounts.services import ServiceError
from licensing import selectors, services
from licensing.forms import AgentKeyForm, AliasForm, UsersFilterForm
from licensing.identity import identity_fold
from licensing.machines import MACHINES_PER_PAGE, machines_for, retired_machines_for
from licensing.models import AgentKey, Machine, TrackedUser, TrackedUserState

USERS_PER_PAGE = 50


def _positive_int(value, *, most=10**9):
    """A number typed in a URL or a form, or None. str.isdigit() alone lets "²" through (int()
    refuses it), and a 40-digit number overflows the database's integers."""
    if value and value.isascii() and value.isdigit() and len(value) <= len(str(most)):
        number = int(value)
        return number if 0 < number <= most else None
    return None


# --- Agents -------------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def agents(request):
    form = AgentKeyForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _key, new_secret = services.agent_key_create(
                account=request.account, name=form.cleaned_data["name"], actor=Actor.for_user(request.user)
            )
        except ServiceError as error:
            form.add_error(None, str(error))
        else:
            form = AgentKeyForm()
    keys = AgentKey.objects.filter(account=request.account).order_by("-created_at")
    page_number = _positive_int(request.GET.get("page", "1")) or 1
    machines, has_next = machines_for(account=request.account, page=page_number)
    response = render(request, "licensing/agents.html", {
        "form": form, "keys": keys, "new_secret": new_secret,
        "machines": machines, "machines_per_page": MACHINES_PER_PAGE,
        "page_number": page_number, "has_next": has_next, "has_previous": page_number > 1,
        "retired_machines": retired_machines_for(account=request.account),
    })
    if new_secret:
        response["Cache-Control"] = "no-store"  # the key is shown once: never from a cache
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def agent_revoke(request, key_id):
    key = get_object_or_404(AgentKey, account=request.account, pk=key_id)
    if request.method == "POST":
        services.agent_key_revoke(key=key, actor=Actor.for_user(request.user))
        messages.success(request, f"Agent key {key.prefix} revoked: agents using it are refused from now on.")
        return redirect("agents")
    return render(request, "licensing/agent_revoke.html", {"key": key})


@admin_required
@require_http_methods(["GET", "POST"])
def machine_retire(request, machine_id):
    """GET says what retiring does (and does not do), POST retires."""
    machine = get_object_or_404(Machine, account=request.account, pk=machine_id)
    error = None
    if request.method == "POST":
        try:
            services.machine_retire(account=request.account, machine_id=machine.pk, actor=Actor.for_user(request.user))
        except ServiceError as exc:
            error = str(exc)
        else:
            messages.success(request, f"{machine.hostname} retired. Its users keep their licenses.")
            return redirect("agents")
    users_seen = machine.user_links.count()
    return render(request, "licensing/machine_retire.html", {"machine": machine, "users_seen": users_seen,
                                                             "error": error}, status=400 if error else 200)


# --- Users --------------------------------------------------------------------------------------


@admin_required
def users(request):
    filters = UsersFilterForm(request.GET or None)
    filters.is_valid()
    data = getattr(filters, "cleaned_data", {}) or {}
    state = data.get("state") if data.get("state") in TrackedUserState.values else ""
    order = data.get("order") if data.get("order") in selectors.USERS_PAGE_ORDERS else "last_log"
    query = (data.get("q") or "").strip()[:100]
    qs = selectors.tracked_users_for_page(account=request.account, state=state, query=query, order=order)
    # No COUNT(*) of the whole account (Django's Paginator would run one): one row more than
    # a page tells whether a next page exists, keeping the page cheap on 100,000 users.
    page_number = _positive_int(request.GET.get("page", "1")) or 1
    start = (page_number - 1) * USERS_PER_PAGE
    rows = list(qs[start:start + USERS_PER_PAGE + 1])
    has_next = len(rows) > USERS_PER_PAGE
    rows = rows[:USERS_PER_PAGE]
    counts = selectors.machines_count_for(rows)
    for user in rows:
        user.machines_count = counts.get(user.pk, 0)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "rows": rows,
        "namesakes": selectors.standalone_namesakes(account=request.account),
        "merge_allowed": services.merge_allowed(account=request.account),
        "page_number": page_number,
        "has_next": has_next,
        "has_previous": page_number > 1,
        "params": params.urlencode(),
        "state": state,
        "order": order,
        "query": query,
        "states": TrackedUserState.choices,
    }
    return render(request, "licensing/users.html", context)


@admin_required
@require_http_methods(["POST"])
def users_namesakes(request):
    """The Users page's suggestion for one username seen on several stand-alone machines:
    ``do=merge`` merges them into the latest, ``do=alias`` gives them ``alias``."""
    name = identity_fold(request.POST.get("name", "")[:255])
    do = request.POST.get("do")
    actor = Actor.for_user(request.user)
    try:
        if do == "merge":
            destination = services.namesakes_merge(account=request.account, identity_name=name, actor=actor)
            messages.success(request, f"The users named {destination.username} were merged into "
                                      f"{destination.display_name}: their licenses are reclaimed.")
        elif do == "alias":
            alias = request.POST.get("alias", "")
            count = services.namesakes_alias(account=request.account, identity_name=name, alias=alias, actor=actor)
            messages.success(request, f"{count} users now show as {alias.strip()}. The license count did not change.")
        else:
            raise ServiceError("Choose merge or alias.")
    except ServiceError as error:
        return render(request, "licensing/namesakes_error.html", {"error": str(error)}, status=400)
    return redirect("users")


ACTIONS = {
    "alias": "Set an alias",
    "do-not-track": "Put on the Do Not Track list",
    "track": "Take off the Do Not Track list",
    "delete": "Delete",
    "merge": "Merge into another user",
}


def _license_effect(action, user, usage, *, merge_allowed=True):
    used, licenses = usage["used"], usage["licenses"]
    counted = user.state == TrackedUserState.ACTIVE
    if action == "merge" and not merge_allowed:
        return f"Users used stay at {used} / {licenses}: merging is not available on this plan."
    if action == "alias":
        return f"Users used stay at {used} / {licenses}: an alias only changes how the user is shown."
    if action in ("do-not-track", "merge", "delete") and counted:
        return f"Users used go from {used} to {used - 1} (of {licenses} licenses): one license is reclaimed."
    if action == "track":
        after = used + 1
        warn = " That is more than your licenses." if after > licenses else ""
        return f"Users used go from {used} to {after} (of {licenses} licenses).{warn}"
    return f"Users used stay at {used} / {licenses}: this user does not use a license."


@admin_required
@require_http_methods(["GET", "POST"])
def user_action(request, user_id, action):
    """Every action on a tracked user: GET shows what it will do (to the license count too),
    the confirmed POST does it."""
    if action not in ACTIONS:
        raise Http404
    user = get_object_or_404(TrackedUser, account=request.account, pk=user_id)
    actor = Actor.for_user(request.user)
    usage = selectors.license_usage(account=request.account)
    alias_form = AliasForm(request.POST or None, initial={"alias": user.alias})
    candidates = []
    if action == "merge":
        query = request.GET.get("q", "").strip()[:100]
        candidates = list(
            selectors.tracked_users_for_page(
                account=request.account, state=TrackedUserState.ACTIVE, query=query, order="-last_log"
            ).exclude(pk=user.pk)[:20]
        )
    error = None
    if request.method == "POST":
        try:
            if action == "alias":
                if not alias_form.is_valid():
                    # Over 50 characters, or a NUL byte: say which.
                    raise ServiceError(" ".join(alias_form.errors["alias"]))
                services.tracked_user_set_alias(
                    account=request.account, user_id=user.pk, alias=alias_form.cleaned_data["alias"], actor=actor
                )
                messages.success(request, "Alias saved. The license count did not change.")
            elif action == "do-not-track":
                services.tracked_user_do_not_track(account=request.account, user_id=user.pk, actor=actor)
                messages.success(request, f"{user.display_name} is on the Do Not Track list; a license was reclaimed.")
            elif action == "track":
                services.tracked_user_track_again(account=request.account, user_id=user.pk, actor=actor)
                messages.success(request, f"{user.display_name} is tracked again and uses a license.")
            elif action == "delete":
                services.tracked_user_delete(account=request.account, user_id=user.pk, actor=actor)
                messages.success(request, f"{user.display_name} and its activity data were deleted.")
            elif action == "merge":
                destination_id = _positive_int(request.POST.get("destination", ""))
                if destination_id is None:
                    raise ServiceError("Choose the user to merge into.")
                destination = services.tracked_user_merge(
                    account=request.account, source_id=user.pk, destination_id=destination_id, actor=actor
                )
                messages.success(request, f"{user.display_name} was merged into {destination.display_name}.")
        except ServiceError as exc:
            error = str(exc)
        else:
            return redirect("users")
    merge_allowed = services.merge_allowed(account=request.account) if action == "merge" else True
    context = {
        "tracked_user": user,
        "action": action,
        "action_title": ACTIONS[action],
        "effect": _license_effect(action, user, usage, merge_allowed=merge_allowed),
        "alias_form": alias_form,
        "candidates": candidates,
        "merge_allowed": merge_allowed,
        "error": error,
    }
    return render(request, "licensing/user_action.html", context, status=400 if error else 200)

