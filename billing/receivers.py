from billing import services


def start_subscription_for_new_account(sender, account, actor, plan_code=None, licenses=None, **kw):
    """A new account starts on a 14-day Professional trial, unless staff provisioned a plan."""
    if plan_code:
        services.subscription_provision(
            account=account, plan_code=plan_code, licenses=licenses, actor=actor
        )
    else:
        services.subscription_start_trial(account=account, actor=actor)
