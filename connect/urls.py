from django.urls import path

from connect import views

urlpatterns = [
    # ActivConnect (docs/connect.md).
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("integrations/webhooks/<int:endpoint_id>/", views.webhook_endpoint, name="webhook_endpoint"),
    path("integrations/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", views.webhook_resend,
         name="webhook_resend"),
    path("events/", views.events, name="events"),
    path("events/export.csv", views.events_export, name="events_export"),
]
