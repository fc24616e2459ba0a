"""The support catalogue as PRODUCT.md states it; only the data migration reads this module."""

PLANS = [
    dict(code="digital", name="Digital", included_with_paid=True, sold_by_quote=False,
         email_response_hours=12, coverage="weekdays", has_csm=False, has_tam=False,
         phone_and_remote=False, priority_routing=False, sort_order=1),
    dict(code="premier", name="Premier", included_with_paid=False, sold_by_quote=True,
         email_response_hours=8, coverage="weekdays_weekends", has_csm=True, has_tam=False,
         phone_and_remote=False, priority_routing=False, sort_order=2),
    dict(code="signature", name="Signature", included_with_paid=False, sold_by_quote=True,
         email_response_hours=4, coverage="always", has_csm=True, has_tam=True,
         phone_and_remote=True, priority_routing=True, sort_order=3),
]

# feature: (digital, premier, signature); "-" means not included.
FEATURES = [
    ("How it is bought", ("included with every paid subscription", "quote, staff activates",
                          "quote, staff activates")),
    ("Email response target", ("< 12 h", "< 8 h", "< 4 h")),
    ("Live chat", ("weekdays 8-18 CT", "+ weekends 8-18 CT", "24/7")),
    ("Live stakeholder training", ("-", "2 sessions", "4 sessions")),
    ("Planning workshop every 12 months", ("-", "1", "1")),
    ("Training vouchers every 12 months", ("-", "2", "4")),
    ("Dedicated CSM", ("-", "yes", "yes")),
    ("Dedicated TAM", ("-", "-", "yes")),
    ("Business reviews", ("-", "yes", "quarterly")),
    ("Productivity snapshots / assessments", ("-", "2 snapshots", "2 assessments")),
    ("Annual technical health check, config and tuning, adoption assurance", ("-", "yes", "yes")),
    ("Priority ticket routing, phone and remote support on open cases", ("-", "-", "yes")),
    ("Integration support and custom BI dashboards", ("-", "-", "10 hours")),
    ("Insights-to-action workshop, external benchmark comparison", ("-", "-", "yes")),
]

# plan code: [(kind, quantity per 12 months)]. Premier's "business reviews: yes" is read as one
# a year, Signature's "quarterly" as four (docs/decisions.md). The "annual" health check is one
# a year; the planning workshop (the seed's adoption assurance row, which PRODUCT.md gives
# Premier and Signature) and Signature's insights-to-action workshop are read as one a year too.
ALLOWANCES = {
    "premier": [("live_training", 2), ("training_voucher", 2), ("productivity_snapshot", 2),
                ("business_review", 1), ("health_check", 1), ("planning_workshop", 1)],
    "signature": [("live_training", 4), ("training_voucher", 4), ("productivity_assessment", 2),
                  ("business_review", 4), ("integration_hours", 10), ("health_check", 1),
                  ("planning_workshop", 1), ("insights_workshop", 1)],
}
