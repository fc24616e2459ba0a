from django.contrib import admin
from django.urls import include, path

from config import views
from connect.api import api as connect_api_v1
from licensing.api import api as agent_api_v1

# A database that is down is a 503 with Retry-After, not a 500 (config/middleware.py).
handler500 = "config.middleware.server_error"

admin.site.site_header = "Back office staff admin"
admin.site.site_title = "Back office"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("pricing/", views.pricing, name="pricing"),
    path("admin/", admin.site.urls),
    path("api/agent/v1/", agent_api_v1.urls),
    path("api/connect/v1/", connect_api_v1.urls),
    path("", include("accounts.urls")),
    path("", include("licensing.urls")),
    path("", include("billing.urls")),
    path("", include("support.urls")),
    path("", include("connect.urls")),
]
