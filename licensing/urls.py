from django.urls import path

from licensing import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
