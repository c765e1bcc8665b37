"""Create the nightly interaction-retention schedule (02:30 UTC, before the 03:00 retrain).

The task deletes nothing until INTERACTION_RETENTION_DAYS is set; staff edit or disable it under Periodic tasks.
"""

from django.db import migrations

TASK_NAME = "Prune old interactions daily"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "shop.tasks.prune_old_interactions",
            "crontab": crontab,
            "description": "Delete views and clicks older than INTERACTION_RETENTION_DAYS (off when it is not set).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0008_product_item_group_id"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
