from django.urls import path

from billing import lifecycle_views, payment_views, sales_views, views

urlpatterns = [
    # Public: visitors and members alike (billing/sales.py).
    path("contact-sales/", sales_views.contact_sales, name="contact_sales"),
    path("contact-sales/thanks/", sales_views.contact_sales_thanks, name="contact_sales_thanks"),
    path("cart/", views.cart, name="cart"),
    path("cart/checkout/", views.checkout, name="checkout"),
    path("billing/", views.billing, name="billing"),
    path("billing/orders/<int:order_id>/", views.order, name="order"),
    path("billing/invoices/<int:invoice_id>/", views.invoice, name="invoice"),
    path("billing/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("billing/details/", views.billing_details, name="billing_details"),
    # Paying (billing/payment_views.py): attempts, 3-D Secure, the card on file, open invoices.
    path("billing/invoices/<int:invoice_id>/pay/", payment_views.invoice_pay, name="invoice_pay"),
    path("billing/payments/<int:payment_id>/", payment_views.payment, name="payment"),
    path("billing/payments/<int:payment_id>/confirm/", payment_views.payment_confirm, name="payment_confirm"),
    path("billing/payments/<int:payment_id>/cancel/", payment_views.payment_cancel, name="payment_cancel"),
    path("billing/card/", payment_views.card, name="billing_card"),
    path("billing/stripe/webhook/", payment_views.stripe_webhook, name="stripe_webhook"),
    # The subscription's lifecycle (billing/lifecycle_views.py): renewal changes and quotes.
    path("billing/schedule/", lifecycle_views.schedule_change, name="billing_schedule_change"),
    path("billing/schedule/cancel/", lifecycle_views.schedule_cancellation,
         name="billing_schedule_cancellation"),
    path("billing/schedule/withdraw/", lifecycle_views.withdraw_change, name="billing_withdraw_change"),
    path("billing/reactivate/", lifecycle_views.reactivate, name="billing_reactivate"),
    path("billing/quotes/", lifecycle_views.quote_list, name="billing_quotes"),
    path("billing/quotes/new/", lifecycle_views.quote_new, name="billing_quote_new"),
    path("billing/quotes/<int:pk>/", lifecycle_views.quote_detail, name="billing_quote"),
    path("billing/quotes/<int:pk>/accept/", lifecycle_views.quote_accept, name="billing_quote_accept"),
    path("billing/quotes/<int:pk>/pdf/", lifecycle_views.quote_pdf, name="billing_quote_pdf"),
    path("billing/quotes/<int:pk>/decline/", lifecycle_views.quote_decline,
         name="billing_quote_decline"),
]
