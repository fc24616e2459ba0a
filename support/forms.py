from django import forms

from support.models import CaseChannel, CaseSeverity


class CaseForm(forms.Form):
    subject = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))
    severity = forms.ChoiceField(choices=CaseSeverity.choices, initial=CaseSeverity.NORMAL)
    channel = forms.ChoiceField(choices=CaseChannel.choices, initial=CaseChannel.EMAIL)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        if plan is None or not plan.phone_and_remote:
            # Phone and remote support is a Signature feature: the others never see it offered.
            self.fields["channel"].choices = [
                c for c in CaseChannel.choices if c[0] != CaseChannel.PHONE_AND_REMOTE
            ]


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 4}))
