from django import forms

from billing.lifecycle import lower_plans_for
from billing.models import QuoteTopic


class ScheduleChangeForm(forms.Form):
    """Fewer licenses and/or a lower plan, from the renewal on. ``cleaned_data["plan"]`` is the
    chosen Plan, or None to keep the current one."""

    plan = forms.TypedChoiceField(required=False, label="Plan at renewal", empty_value=None)
    licenses = forms.IntegerField(min_value=1, required=False, label="Licenses at renewal")

    def __init__(self, *args, subscription, plans=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The plans the page renders and the POST checks against: among ``plans`` (the cached
        # catalogue) when given, else one query (the service checks the plan again).
        self.plans = {
            p.code: p for p in lower_plans_for(subscription=subscription, plans=plans)
            if p.pk != subscription.plan_id
        }
        self.fields["plan"].choices = [("", "Keep the current plan")] + [
            (code, plan.name) for code, plan in self.plans.items()
        ]
        self.fields["plan"].coerce = self.plans.get
        self.fields["licenses"].widget.attrs["placeholder"] = str(subscription.licenses)


class QuoteRequestForm(forms.Form):
    topic = forms.ChoiceField(choices=QuoteTopic.choices, label="What would you like a quote for?")
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=4000,
        label="Tell us more", help_text="e.g. how many users, which plan, your nonprofit status",
    )
