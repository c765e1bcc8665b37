from django.db import migrations, models


class Migration(migrations.Migration):
    """Put kind in the (product, timestamp) index: popularity sums a product's weighted events from the index alone."""

    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="interaction", name="interaction_product_time"),
        migrations.AddIndex(
            model_name="interaction",
            index=models.Index(fields=["product", "timestamp", "kind"], name="interaction_product_time"),
        ),
    ]
