"""Confirmed staff actions on one object of the admin (an account, an invoice).

Each action is a form (with a reason where money or access changes) shown on a confirmation
page, then one POST that calls the service the customer pages use; the service writes the audit
row. Only staff holding the action's permission see its button or reach its page.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from accounts.actors import Actor
from accounts.services import ServiceError


class ReadOnlyAdminMixin:
    """A record nobody adds, changes or deletes in the admin (the audit log, ledgers, refunds):
    its service writes it, the admin only shows it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActionForm(forms.Form):
    """A form that knows the object it acts on (to offer, say, only that account's keys)."""

    def __init__(self, *args, obj, **kwargs):
        self.obj = obj
        super().__init__(*args, **kwargs)


class ReasonForm(ActionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class ConfirmForm(ActionForm):
    confirm = forms.BooleanField(label="Yes, do it")


@dataclass(frozen=True)
class ObjectAction:
    label: str
    permission: str
    form_class: type
    run: object  # callable(obj=, actor=, **cleaned_data) -> message for the staff member


class ObjectActionsMixin:
    """Adds ``object_actions`` (name -> ObjectAction) to a ModelAdmin: buttons on the change
    page, a confirmation page per action, POST only, with an explicit permission check."""

    object_actions: dict = {}
    change_form_template = "admin/object_actions_change_form.html"

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<int:object_id>/act/<slug:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name=f"{opts.app_label}_{opts.model_name}_act",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        opts = self.model._meta
        extra_context["object_actions"] = [
            (name, action.label) for name, action in self.object_actions.items()
            if request.user.has_perm(action.permission)
        ]
        extra_context["object_action_url"] = f"admin:{opts.app_label}_{opts.model_name}_act"
        return super().change_view(request, object_id, form_url, extra_context)

    def object_action_view(self, request, object_id, action):
        spec = self.object_actions.get(action)
        if spec is None:
            raise Http404("no such action")
        if not request.user.has_perm(spec.permission):
            raise PermissionDenied
        obj = self.get_queryset(request).filter(pk=object_id).first()
        if obj is None:
            raise Http404("no such object")
        opts = self.model._meta
        form = spec.form_class(request.POST if request.method == "POST" else None, obj=obj)
        if request.method == "POST" and form.is_valid():
            try:
                message = spec.run(obj=obj, actor=Actor.for_user(request.user), **form.cleaned_data)
            except ServiceError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": obj,
            "title": f"{spec.label}: {obj}",
            "action": spec,
            "form": form,
            "change_url": f"admin:{opts.app_label}_{opts.model_name}_change",
        }
        return TemplateResponse(request, "admin/object_action_confirm.html", context)
