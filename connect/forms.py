from django import forms

from connect.models import Scope


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="Where you will use it, e.g. “Power BI”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
        help_text="What the token may read. Give each tool only what it needs.",
        error_messages={"required": "Choose at least one scope."},
    )
