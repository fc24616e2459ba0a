from django import forms


class AgentKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80, required=False, help_text="Where you will use it, e.g. “Office laptops”."
    )


class AliasForm(forms.Form):
    alias = forms.CharField(
        max_length=50, required=False,
        help_text="50 characters at most; shown in reports instead of the logon name. Empty removes it.",
    )


class UsersFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    state = forms.CharField(required=False)
    order = forms.CharField(required=False)
