"""The catalogue as PRODUCT.md states it. Only the data migration reads this module: at run time
the catalogue lives in the database, where staff edit it."""

GB = 1024**3

PLANS = [
    # code, name, description, $/user/month, max users, history months, history days,
    # sold, paid, min licenses, grace days, export rows, storage limit, rank
    dict(code="professional", name="Professional",
         description="Productivity management and workforce planning",
         price_per_user_month_cents=1900, max_users=None, data_history_months=12,
         data_history_days=None, is_sold=True, is_paid=True, min_licenses=5,
         grace_period_days=14, export_row_limit=50_000, storage_limit_bytes=None, rank=30,
         sort_order=1),
    dict(code="essentials_plus", name="Essentials Plus",
         description="Enhanced monitoring for mid-to-large organisations",
         price_per_user_month_cents=1500, max_users=None, data_history_months=6,
         data_history_days=None, is_sold=True, is_paid=True, min_licenses=5,
         grace_period_days=14, export_row_limit=50_000, storage_limit_bytes=None, rank=20,
         sort_order=2),
    dict(code="essentials", name="Essentials",
         description="Basic employee monitoring for small organisations",
         price_per_user_month_cents=1000, max_users=None, data_history_months=6,
         data_history_days=None, is_sold=True, is_paid=True, min_licenses=5,
         grace_period_days=14, export_row_limit=10_000, storage_limit_bytes=None, rank=10,
         sort_order=3),
    dict(code="free", name="Free",
         description="Limited employee monitoring for 3 or fewer users",
         price_per_user_month_cents=0, max_users=3, data_history_months=None,
         data_history_days=30, is_sold=True, is_paid=False, min_licenses=0,
         grace_period_days=0, export_row_limit=10_000, storage_limit_bytes=3 * GB, rank=0,
         sort_order=4),
    dict(code="premium", name="Premium (legacy)",
         description="Productivity management and workforce planning",
         price_per_user_month_cents=1900, max_users=None, data_history_months=12,
         data_history_days=None, is_sold=False, is_paid=True, min_licenses=5,
         grace_period_days=14, export_row_limit=50_000, storage_limit_bytes=None, rank=30,
         sort_order=5),
    dict(code="advanced", name="Advanced (legacy)",
         description="Basic employee monitoring for small organisations",
         price_per_user_month_cents=1000, max_users=None, data_history_months=6,
         data_history_days=None, is_sold=False, is_paid=True, min_licenses=5,
         grace_period_days=14, export_row_limit=50_000, storage_limit_bytes=None, rank=10,
         sort_order=6),
]

PAID_PLAN_CODES = ["professional", "essentials_plus", "essentials", "premium", "advanced"]

ADDONS = [
    # Screen Details' list price is not in PRODUCT.md: $3/user/month is our choice (docs/decisions.md),
    # editable by staff. The two staff-only add-ons are priced on each quote.
    dict(code="screen_details", name="Screen Details",
         description="Full activity details: window titles, URLs, screenshots metadata",
         price_per_user_month_cents=300, sales_channel="cart", extends_history_months=0,
         sort_order=1),
    dict(code="activconnect", name="ActivConnect API",
         description="A read API over the account's data for BI tools",
         price_per_user_month_cents=None, sales_channel="staff", extends_history_months=0,
         sort_order=2),
    dict(code="data_history", name="Data History",
         description="Longer data history: +12 months a unit",
         price_per_user_month_cents=None, sales_channel="staff", extends_history_months=12,
         sort_order=3),
]
