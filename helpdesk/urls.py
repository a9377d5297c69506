from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.conversations import survey_views
from apps.oversight.floor_views import floor_view
from helpdesk.api import api_urlpatterns

admin.site.site_header = "helpdesk"
admin.site.site_title = "helpdesk admin"
admin.site.index_title = "Back office"

urlpatterns = [
    # An admin page of its own (the admin's look and login), listed before the admin's catch-all.
    path("admin/floor/", floor_view, name="admin-floor"),
    path("admin/", admin.site.urls),
    path("inbox/", include("apps.conversations.urls")),
    path("reports/", include("apps.reports.urls")),
    path("survey/<str:token>/", survey_views.survey, name="survey"),
    path("api/", include(api_urlpatterns)),
    path("api/auth/", include("rest_framework.urls", namespace="rest_framework")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("", include("apps.web.urls")),
]
