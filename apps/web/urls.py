from django.urls import path

from apps.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("help/", views.help_centre, name="help-centre"),
    path("help/<slug:slug>/", views.help_article, name="help-article"),
    path("healthz", views.healthz, name="healthz"),
]
