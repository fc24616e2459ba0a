from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template.loader import render_to_string

from accounts.mail import email_queue
from accounts.models import Role, User
from accounts.time_zones import time_zone_choices


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={"autofocus": True}))


class SignupForm(forms.Form):
    organisation = forms.CharField(max_length=200, label="Organisation")
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(label="Work email")
    password = forms.CharField(widget=forms.PasswordInput, label="Password")

    def clean_email(self):
        # Whether the address has a login is never said here (issue 11, item 9): the email
        # sent to it says (accounts.services.signup_request).
        return self.cleaned_data["email"].strip().lower()

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = User(email=self.data.get("email", ""), full_name=self.data.get("full_name", ""))
        password_validation.validate_password(password, user)
        return password


class AccountSettingsForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Dates and times on your account's pages are shown in this zone, with its name.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices()


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(widget=forms.PasswordInput)

    def __init__(self, *args, email, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, User(email=self.email))
        return password


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, its email queued for the task cluster (accounts.mail) instead of
    sent from inside the request: a slow or failing mailer never slows or fails the page (and
    the page's timing tells nothing about whether the address has a login)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email,
                  to_email, html_email_template_name=None):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        email_queue(subject=subject, body=body, recipients=[to_email])
