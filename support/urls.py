from django.urls import path

from support import views

urlpatterns = [
    path("support/", views.support_home, name="support"),
    path("support/cases/<int:case_id>/", views.case_detail, name="support_case"),
]
