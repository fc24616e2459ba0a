from django.contrib import admin
from django.urls import include, path

from config import views

admin.site.site_header = "Back office staff admin"
admin.site.site_title = "Back office"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("pricing/", views.pricing, name="pricing"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("licensing.urls")),
    path("", include("billing.urls")),
    path("", include("support.urls")),
]
