"""The staff admin site: Django's, with its index grouped by what staff look for (issue 17).

Django lists models under their app; our apps are code boundaries, not what staff look for
(the accounts list lives in ``staff``, the invitations and audit rows in ``accounts``, logins
and staff roles in two more). ``SECTIONS`` says which list goes in which section, in order;
a model it does not name stays in its app's section, so a new model is never hidden.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# (section name, [(app label, model object name), ...]), in the index's order.
SECTIONS = [
    ("Customer accounts", [("staff", "StaffAccount"), ("accounts", "Invitation"), ("accounts", "AuditEntry")]),
    ("Billing", None),
    ("Licensing", None),
    ("Support", None),
    ("Staff dashboard", [("staff", "DailyMetrics")]),
    ("Logins and staff roles", [("accounts", "User"), ("auth", "Group")]),
]


class StaffAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        by_key = {(app["app_label"], model["object_name"]): (app, model) for app in apps for model in app["models"]}
        placed, sections = set(), []
        for name, members in SECTIONS:
            if members is None:  # an app's own section, under its own name
                app = next((a for a in apps if a["name"] == name), None)
                if app is not None:
                    sections.append(app)
                    placed.update((app["app_label"], m["object_name"]) for m in app["models"])
                continue
            found = [by_key[key] for key in members if key in by_key]
            if found:
                first_app = found[0][0]
                sections.append({
                    **first_app, "name": name, "app_url": found[0][1]["admin_url"],
                    "models": [model for _, model in found],
                })
                placed.update(key for key in members if key in by_key)
        for app in apps:
            rest = [m for m in app["models"] if (app["app_label"], m["object_name"]) not in placed]
            if rest:
                sections.append({**app, "models": rest})
        return sections


class StaffAdminConfig(AdminConfig):
    default_site = "staff.admin_site.StaffAdminSite"
