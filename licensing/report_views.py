"""The dashboard, the Reports page and its CSV export (docs/activity.md)."""

import csv

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.actors import Actor
from accounts.decorators import activity_required, admin_required, member_required
from accounts.services import ServiceError
from billing.selectors import entitlements
from licensing import services
from licensing.charts import usage_chart
from licensing.compliance import compliance_state_at, licenses_of
from licensing.forecast import storage_meter, usage_forecast
from licensing.reports import (
    EXPORT_COLUMNS,
    account_keeps_screen_details,
    account_shows_screen_details,
    activity_range_summary,
    data_history_window,
    data_history_window_of,
    export_is_capped,
    export_rows,
    report_days_page,
    report_details,
    subscription_with_addons,
    today_utc,
    usage_history,
)
from licensing.reports_forms import ActivityDeleteForm, ReportRangeForm
from licensing.selectors import (
    account_licensing,
    account_standing,
    data_access_blocked,
    storage_limit,
)

REPORT_ROWS_PER_PAGE = 25
EXPORT_CHUNK_ROWS = 2000
LAST_PAGE_READ = 10**9  # a larger number is past any range's last page (and its offset past SQL's integers)

@member_required
def dashboard(request):
    account = request.account
    window = data_history_window(account=account)
    history = usage_history(account=account, today=window.today)
    licenses = licenses_of(window.subscription)
    return render(
        request,
        "licensing/dashboard.html",
        {
            "subscription": window.subscription,
            "history": window,
            "chart": usage_chart(history, today=window.today),
            # Issue 15: the forecast and the storage meter.
            "forecast": usage_forecast(history, licenses=licenses, today=window.today),
            "storage": storage_meter(storage_bytes=account_licensing(account=account).storage_bytes,
                                     limit_bytes=storage_limit(subscription=window.subscription)),
        },
    )


def _blocked_page(request, standing):
    """Data access is closed: say why and the ways out (PRODUCT.md: blocked accounts still reach
    the cart, users, billing and support). 403: the reports exist but are not served now."""
    licensing = standing.licensing
    subscription = subscription_with_addons(standing.subscription)
    _, reason = compliance_state_at(licensing)  # as it is now, before the hourly job
    return render(
        request,
        "licensing/reports_blocked.html",
        {
            "reason": reason,
            "licensing": licensing,
            "plan": subscription.plan if subscription else None,
            "storage_limit": storage_limit(subscription=subscription),
            "usage": standing.usage,
        },
        status=403,
    )


def _range_form(request, window):
    return ReportRangeForm(
        request.GET, first_day=window.first_day, today=window.today, history_label=window.label
    )


def _report_page(*, account, start, end, number):
    """The report's page ``number``, its rows and the range's total read in one query
    (``report_days_page``). A number that is not one, or a page outside the range (a hand-typed
    address: the page's links never lead there), gives the first page, read with its total by
    one query more, so the page stays within its 8 queries (docs/performance.md)."""
    try:
        number = int(number or 1)
    except (TypeError, ValueError):
        number = 1
    rows, total = [], None
    if 1 <= number <= LAST_PAGE_READ:
        rows, total = report_days_page(account=account, start=start, end=end,
                                       offset=(number - 1) * REPORT_ROWS_PER_PAGE, limit=REPORT_ROWS_PER_PAGE)
    if total is None and number != 1:
        number = 1
        rows, total = report_days_page(account=account, start=start, end=end, offset=0, limit=REPORT_ROWS_PER_PAGE)
    paginator = Paginator((), REPORT_ROWS_PER_PAGE)
    paginator.count = total or 0  # the window's count: Paginator would count the grouped rows again
    return Page(rows, number, paginator)


def _plan_of(standing):
    """(subscription with its add-ons, its entitlements, its data-history window) from what
    ``account_standing`` read: the add-ons in one query, the rest from them."""
    subscription = subscription_with_addons(standing.subscription)
    return subscription, entitlements(subscription=subscription), data_history_window_of(subscription=subscription)


@activity_required
def reports(request):
    account = request.account
    # The licensing row, the subscription and its add-ons are read once (two queries) and serve
    # the block, the window, the privacy rule, the storage line and the header's ratio.
    standing = account_standing(account=account)
    if data_access_blocked(licensing=standing.licensing):
        return _blocked_page(request, standing)
    subscription, granted, window = _plan_of(standing)
    form = _range_form(request, window)
    plan = subscription.plan if subscription else None
    context = {
        "form": form,
        "history": window,
        "plan": plan,
        "storage_bytes": standing.licensing.storage_bytes,
        "storage_limit": storage_limit(subscription=subscription),
        "keeps_details": account_keeps_screen_details(account=account, entitlements=granted),
        "usage": standing.usage,
    }
    status = 200
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        page = _report_page(account=account, start=start, end=end, number=request.GET.get("page"))
        details = account_shows_screen_details(account=account, entitlements=granted)
        rows = report_details(account=account, rows=page.object_list, details=details)
        limit = plan.export_row_limit if plan else 0
        context.update(
            page=page,
            rows=rows,
            start=start,
            end=end,
            export_limit=limit,
            export_capped=bool(rows) and export_is_capped(
                account=account, start=start, end=end, limit=limit, details=details,
                report_rows=page.paginator.count,
            ),
            shows_windows=any(row["windows"] for row in rows),
        )
    else:
        status = 400
    return render(request, "licensing/reports.html", context, status=status)


class _Echo:
    """A file-like object whose write returns the line: csv.writer into a streamed response."""

    def write(self, value):
        return value


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    # Window titles are typed by anyone: a title starting with "=" must not run as a formula
    # when the export is opened in a spreadsheet (CSV injection).
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _csv_lines(rows, *, capped, limit):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for day, user, app, site, url_path, title, seconds in rows:
        yield writer.writerow([day.isoformat(), _cell(user), _cell(app), _cell(site), _cell(url_path), _cell(title), seconds])
    if capped:
        yield writer.writerow(
            [f"# Export capped at the plan's {limit} rows: narrow the dates to export the rest."]
        )


@activity_required
def reports_export(request):
    account = request.account
    standing = account_standing(account=account)
    if data_access_blocked(licensing=standing.licensing):
        return _blocked_page(request, standing)
    subscription, granted, window = _plan_of(standing)
    form = _range_form(request, window)
    if not form.is_valid():
        return reports(request)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    limit = subscription.plan.export_row_limit if subscription else 0
    details = account_shows_screen_details(account=account, entitlements=granted)
    capped = export_is_capped(account=account, start=start, end=end, limit=limit, details=details)
    # Read lazily, when the body is: a server-side cursor opened here would stay open in the
    # connection if the body were never read.
    rows = export_rows(account=account, start=start, end=end, details=details)[:limit].iterator(
        chunk_size=EXPORT_CHUNK_ROWS
    )
    response = StreamingHttpResponse(
        _csv_lines(rows, capped=capped, limit=limit), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="activity-{start:%Y%m%d}-{end:%Y%m%d}.csv"'
    response["X-Export-Capped"] = "true" if capped else "false"
    response["X-Export-Row-Limit"] = str(limit)
    return response


@admin_required
@require_http_methods(["GET", "POST"])
def activity_delete(request):
    """Deleting activity by date range (issue 15): GET with the dates shows what will go,
    POST with the box ticked deletes it. Open while data access is blocked: it is the way out
    of a storage block. Only counts are shown, never the activity itself."""
    account = request.account
    posted = request.method == "POST"
    data = request.POST if posted else (request.GET if request.GET else None)
    form = ActivityDeleteForm(data, today=today_utc(), require_confirm=posted)
    context = {"form": form, "storage_bytes": account_licensing(account=account).storage_bytes}
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        if posted:
            try:
                deleted = services.activity_delete_range(
                    account=account, start=start, end=end, actor=Actor.for_user(request.user)
                )
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, f"{deleted} activity rows from {start:%Y-%m-%d} to {end:%Y-%m-%d} deleted."
                )
                return redirect("reports")
        else:
            context.update(start=start, end=end,
                           summary=activity_range_summary(account=account, start=start, end=end))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "licensing/activity_delete.html", context, status=status)
