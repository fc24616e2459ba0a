from django.urls import path

from licensing import closure_views, report_views, views_core

urlpatterns = [
    # Dashboard, reports and export (docs/activity.md).
    path("", report_views.dashboard, name="dashboard"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/export.csv", report_views.reports_export, name="reports_export"),
    path("reports/delete/", report_views.activity_delete, name="activity_delete"),
    # Agents and tracked users (docs/licensing.md).
    path("agents/", views_core.agents, name="agents"),
    path("agents/<int:key_id>/revoke/", views_core.agent_revoke, name="agent_revoke"),
    path("agents/machines/<int:machine_id>/retire/", views_core.machine_retire, name="machine_retire"),
    path("users/", views_core.users, name="users"),
    path("users/namesakes/", views_core.users_namesakes, name="users_namesakes"),
    path("users/<int:user_id>/<slug:action>/", views_core.user_action, name="user_action"),
    # Deleting the account (issue 15, docs/account-life.md).
    path("account/delete/", closure_views.account_delete, name="account_delete"),
    path("account/delete/cancel/", closure_views.account_delete_cancel, name="account_delete_cancel"),
    path("account/export/", closure_views.account_export, name="account_export"),
]
