from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from accounts.hooks import account_created

        # The catalogue as pages read it is cached until staff edit it (billing/catalogue_signals.py).
        from billing import catalogue_signals, receivers
        from billing.models import AddOn, Plan

        catalogue_signals.connect(Plan, AddOn, uid="billing_catalogue")

        # Sign-up and provisioning cross from accounts into billing through this hook.
        account_created.connect(receivers.start_subscription_for_new_account)

        # The subscription lifecycle's jobs (billing/lifecycle.py), one schedule each.
        from django_q.models import Schedule

        from accounts.jobs import register_job

        register_job("expire_trials", "billing.tasks.expire_trials", Schedule.HOURLY)
        register_job("send_billing_notices", "billing.tasks.send_billing_notices", Schedule.DAILY)
        register_job("mark_invoices_past_due", "billing.tasks.mark_invoices_past_due", Schedule.DAILY)
        register_job("renew_subscriptions", "billing.tasks.renew_subscriptions", Schedule.DAILY)
        # Payments (billing/payments.py): attempts whose answer never came are settled by asking
        # the gateway; renewal invoices are charged to the card on file on the dunning schedule.
        register_job("reconcile_payments", "billing.tasks.reconcile_payments", Schedule.MINUTES, minutes=5)
        register_job("collect_invoices", "billing.tasks.collect_invoices", Schedule.HOURLY)
        # Invoice PDFs the on-commit task did not make (broker down, a failed render).
        register_job("render_invoice_documents", "billing.tasks.render_invoice_documents",
                     Schedule.MINUTES, minutes=5)
