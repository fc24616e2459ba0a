from django.db import models

from accounts.models import Account


class StaffAccount(Account):
    """The staff admin's view of a customer account. A proxy, so that the permissions of the
    staff actions have a home of their own."""

    class Meta:
        proxy = True
        verbose_name = "customer account"
        permissions = [
            ("extend_grace_period", "Can extend a grace period"),
            ("set_discount", "Can set an account's discount"),
            ("grant_staff_addon", "Can grant ActivConnect or Data History"),
            ("activate_support_plan", "Can activate Premier or Signature support from a quote"),
            ("set_invoice_eligible", "Can mark an account invoice-eligible"),
            ("end_trial", "Can end a trial early"),
            ("reevaluate_compliance", "Can re-evaluate compliance now"),
            ("revoke_agent_key", "Can revoke an agent key"),
        ]


class DailyMetrics(models.Model):
    """One row a day for the staff dashboard's charts: ARR by plan and accounts by state."""

    day = models.DateField(unique=True)
    arr_cents_by_plan = models.JSONField(default=dict)
    accounts_by_state = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]
        verbose_name_plural = "daily metrics"

    def __str__(self):
        return f"metrics of {self.day}"

    @property
    def arr_cents(self):
        return sum(self.arr_cents_by_plan.values())
