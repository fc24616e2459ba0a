from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from django_q.models import Schedule

        from accounts.hooks import account_erasing
        from accounts.jobs import register_job

        # The support plans are on /pricing/, cached until staff edit the catalogue.
        from billing.catalogue_signals import connect
        from billing.hooks import quote_accepted, subscription_changed
        from support import receivers
        from support.models import SupportPlan, SupportPlanFeature

        connect(SupportPlan, SupportPlanFeature, uid="support_catalogue")
        subscription_changed.connect(receivers.follow_subscription, dispatch_uid="support.digital")
        quote_accepted.connect(receivers.activate_from_quote, dispatch_uid="support.quote")
        account_erasing.connect(receivers.erase_cases, dispatch_uid="support.erase")
        register_job(
            "flag_support_breaches", "support.tasks.flag_support_breaches",
            Schedule.MINUTES, minutes=15,
        )
