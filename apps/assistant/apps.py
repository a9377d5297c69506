from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "apps.assistant"
    verbose_name = "Assistant models"
