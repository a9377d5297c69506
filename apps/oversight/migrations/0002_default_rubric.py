"""The rubric a desk starts with; managers edit, add or retire criteria under Review criteria in the admin."""

from django.db import migrations

CRITERIA = [
    ("Greeting", "Greets the customer by name and sets expectations for what happens next."),
    ("Accuracy", "The answer is correct and complete; links the right article or fixes the actual problem."),
    ("Tone", "Friendly, clear and calm; matches the customer's mood without copying its heat."),
    ("Resolution", "The customer leaves with the problem solved or a clear next step and owner."),
]


def add_rubric(apps, schema_editor):
    ReviewCriterion = apps.get_model("oversight", "ReviewCriterion")
    for position, (name, description) in enumerate(CRITERIA):
        ReviewCriterion.objects.get_or_create(name=name, defaults={"description": description, "position": position})


def remove_rubric(apps, schema_editor):
    apps.get_model("oversight", "ReviewCriterion").objects.filter(
        name__in=[name for name, _ in CRITERIA], scores__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("oversight", "0001_initial")]

    operations = [migrations.RunPython(add_rubric, remove_rubric)]
