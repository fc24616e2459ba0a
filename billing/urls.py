from django.urls import path

from billing import views

urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/checkout/", views.checkout, name="checkout"),
    path("billing/", views.billing, name="billing"),
    path("billing/orders/<int:order_id>/", views.order, name="order"),
    path("billing/invoices/<int:invoice_id>/", views.invoice, name="invoice"),
]
