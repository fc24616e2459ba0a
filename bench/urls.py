"""The project's URLs plus one bare Django JSON view, for the benchmark only."""

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def bare(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *project_urlpatterns]
