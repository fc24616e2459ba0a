from licensing.compliance import compliance_evaluate
from licensing.selectors import account_licensing


def reevaluate_compliance(sender, account, actor, **kwargs):
    """Billing changed the plan or the licenses: compliance is read again (in its transaction)."""
    compliance_evaluate(account=account, actor=actor)


def answer_usage(sender, account, **kwargs):
    """Billing asks how many users the account uses (billing.hooks.usage_requested)."""
    return account_licensing(account=account).used
