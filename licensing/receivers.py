from licensing.compliance import compliance_evaluate


def reevaluate_compliance(sender, account, actor, **kwargs):
    """Billing changed the plan or the licenses: compliance is read again (in its transaction)."""
    compliance_evaluate(account=account, actor=actor)
