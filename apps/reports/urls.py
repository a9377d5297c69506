from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("csv/<slug:table>/", views.dashboard_csv, name="dashboard-csv"),
    path("me/", views.my_figures, name="me"),
    path("me/csv/<slug:table>/", views.my_csv, name="me-csv"),
    path("agents/<int:agent_id>/", views.agent_figures, name="agent"),
    path("agents/<int:agent_id>/csv/<slug:table>/", views.agent_csv, name="agent-csv"),
]
