from billing import services


def start_subscription_for_new_account(sender, account, actor, plan_code=None, licenses=None,
                                       term_start=None, **kw):
    """A new account starts on a 14-day Professional trial, unless staff provisioned a plan
    (from today, or from ``term_start``)."""
    if plan_code:
        services.subscription_provision(
            account=account, plan_code=plan_code, licenses=licenses, actor=actor, term_start=term_start,
        )
    else:
        services.subscription_start_trial(account=account, actor=actor)
