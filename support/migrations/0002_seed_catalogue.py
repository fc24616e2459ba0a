"""Seeds the support plans with exactly the values of PRODUCT.md (see support/catalogue.py)."""

from django.db import migrations


def seed(apps, schema_editor):
    from support import catalogue

    SupportPlan = apps.get_model("support", "SupportPlan")
    Feature = apps.get_model("support", "SupportPlanFeature")
    Allowance = apps.get_model("support", "SupportAllowance")
    plans = []
    for row in catalogue.PLANS:
        plan, _ = SupportPlan.objects.update_or_create(code=row["code"], defaults=row)
        plans.append(plan)
    for order, (feature, values) in enumerate(catalogue.FEATURES):
        for plan, value in zip(plans, values, strict=True):
            Feature.objects.update_or_create(
                plan=plan, feature=feature, defaults={"value": value, "sort_order": order}
            )
    for code, allowances in catalogue.ALLOWANCES.items():
        plan = SupportPlan.objects.get(code=code)
        for kind, quantity in allowances:
            Allowance.objects.update_or_create(
                plan=plan, kind=kind, defaults={"quantity": quantity, "period_months": 12}
            )


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
