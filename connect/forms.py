from django import forms

from connect.models import Scope, WebhookEventType


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="Where you will use it, e.g. “Power BI”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
        help_text="What the token may read. Give each tool only what it needs.",
        error_messages={"required": "Choose at least one scope."},
    )


class EventFilterForm(forms.Form):
    """The event log's filters; every one optional. Audit rows are kept for ever (PRODUCT.md,
    data history), so the dates are not bounded by the plan's window."""

    kind = forms.ChoiceField(label="What", required=False)
    who = forms.CharField(label="Who", required=False, max_length=200, help_text="part of an email or a name")
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, kinds):
        super().__init__(data)
        self.fields["kind"].choices = [("", "Everything")] + [(k, k) for k in kinds]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="Endpoint URL", max_length=500, assume_scheme="https",
                         help_text="HTTPS; we POST each event as JSON, signed (docs: Integrations).")
    events = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
