"""Seeds the catalogue with exactly the values of PRODUCT.md (see billing/catalogue.py)."""

from django.db import migrations


def seed(apps, schema_editor):
    from billing import catalogue

    Plan = apps.get_model("billing", "Plan")
    AddOn = apps.get_model("billing", "AddOn")
    for row in catalogue.PLANS:
        Plan.objects.update_or_create(code=row["code"], defaults=row)
    paid = list(Plan.objects.filter(code__in=catalogue.PAID_PLAN_CODES))
    for row in catalogue.ADDONS:
        addon, _ = AddOn.objects.update_or_create(code=row["code"], defaults=row)
        addon.eligible_plans.set(paid)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
