from django.urls import path

from licensing import views, views_core

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # licensing core: agents and tracked users
    path("agents/", views_core.agents, name="agents"),
    path("agents/<int:key_id>/revoke/", views_core.agent_revoke, name="agent_revoke"),
    path("users/", views_core.users, name="users"),
    path("users/<int:user_id>/<slug:action>/", views_core.user_action, name="user_action"),
]
