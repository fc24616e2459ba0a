from django.urls import path

import licensing.report_views as report_views
from licensing import views  # noqa: F401  (the other licensing pages add theirs here)

urlpatterns = [
    # Dashboard, reports and export (docs/activity.md).
    path("", report_views.dashboard, name="dashboard"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/export.csv", report_views.reports_export, name="reports_export"),
]
