from django.shortcuts import render

from accounts.decorators import member_required
from billing.selectors import subscription_for


@member_required
def dashboard(request):
    return render(
        request, "licensing/dashboard.html",
        {"subscription": subscription_for(account=request.account)},
    )
