from django.urls import path

from apps.conversations import views

app_name = "inbox"
urlpatterns = [
    path("", views.inbox, name="index"),
    path("<int:conversation_id>/", views.inbox, name="conversation"),
]
