from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from accounts.hooks import account_created
        from billing import receivers

        # Sign-up and provisioning cross from accounts into billing through this hook.
        account_created.connect(receivers.start_subscription_for_new_account)
