"""The dashboard, the Reports page and its CSV export (docs/activity.md)."""

import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render

from accounts.decorators import activity_required, member_required
from licensing.charts import usage_chart
from licensing.compliance import compliance_state_at, licenses_of
from licensing.forecast import storage_meter, usage_forecast
from licensing.reports import (
    EXPORT_COLUMNS,
    account_keeps_screen_details,
    account_shows_screen_details,
    data_history_window,
    export_is_capped,
    export_rows,
    report_days,
    report_details,
    usage_history,
)
from licensing.reports_forms import ReportRangeForm
from licensing.selectors import account_licensing, data_access_blocked

REPORT_ROWS_PER_PAGE = 25
EXPORT_CHUNK_ROWS = 2000

@member_required
def dashboard(request):
    account = request.account
    window = data_history_window(account=account)
    history = usage_history(account=account, today=window.today)
    plan = window.subscription.plan if window.subscription else None
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
                                     limit_bytes=plan.storage_limit_bytes if plan else None),
        },
    )


def _blocked_page(request):
    """Data access is closed: say why and the ways out (PRODUCT.md: blocked accounts still reach
    the cart, users, billing and support). 403: the reports exist but are not served now."""
    licensing = account_licensing(account=request.account)
    window = data_history_window(account=request.account)
    plan = window.subscription.plan if window.subscription else None
    _, reason = compliance_state_at(licensing)  # as it is now, before the hourly job
    return render(
        request,
        "licensing/reports_blocked.html",
        {
            "reason": reason,
            "licensing": licensing,
            "plan": plan,
        },
        status=403,
    )


def _range_form(request, window):
    return ReportRangeForm(
        request.GET, first_day=window.first_day, today=window.today, history_label=window.label
    )


@activity_required
def reports(request):
    account = request.account
    if data_access_blocked(account=account):
        return _blocked_page(request)
    window = data_history_window(account=account)
    form = _range_form(request, window)
    plan = window.subscription.plan if window.subscription else None
    context = {
        "form": form,
        "history": window,
        "plan": plan,
        "storage_bytes": account_licensing(account=account).storage_bytes,
        "keeps_details": account_keeps_screen_details(account=account),
    }
    status = 200
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        page = Paginator(report_days(account=account, start=start, end=end), REPORT_ROWS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        details = account_shows_screen_details(account=account)
        rows = report_details(account=account, rows=page.object_list, details=details)
        limit = plan.export_row_limit if plan else 0
        context.update(
            page=page,
            rows=rows,
            start=start,
            end=end,
            export_limit=limit,
            export_capped=bool(rows) and export_is_capped(
                account=account, start=start, end=end, limit=limit, details=details
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
    if data_access_blocked(account=account):
        return _blocked_page(request)
    window = data_history_window(account=account)
    form = _range_form(request, window)
    if not form.is_valid():
        return reports(request)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    limit = window.subscription.plan.export_row_limit if window.subscription else 0
    details = account_shows_screen_details(account=account)
    capped = export_is_capped(account=account, start=start, end=end, limit=limit, details=details)
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
