from django import forms

from billing.lifecycle import lower_plans_for
from billing.models import Plan, QuoteTopic


class ScheduleChangeForm(forms.Form):
    """Fewer licenses and/or a lower plan, from the renewal on."""

    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(), required=False, empty_label="Keep the current plan",
        label="Plan at renewal",
    )
    licenses = forms.IntegerField(min_value=1, required=False, label="Licenses at renewal")

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(
            pk__in=[p.pk for p in lower_plans_for(subscription=subscription)]
        ).exclude(pk=subscription.plan_id)
        self.fields["licenses"].widget.attrs["placeholder"] = str(subscription.licenses)


class QuoteRequestForm(forms.Form):
    topic = forms.ChoiceField(choices=QuoteTopic.choices, label="What would you like a quote for?")
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=4000,
        label="Tell us more", help_text="e.g. how many users, which plan, your nonprofit status",
    )
