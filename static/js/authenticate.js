// 3-D Secure for a payment attempt: stripe.js asks the bank (localstripe shows its own dialog),
// then the form tells our server, which asks Stripe how it ended.
(function () {
  "use strict";
  var button = document.getElementById("authenticate");
  if (!button || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(button.dataset.stripeKey);
  button.addEventListener("click", function () {
    button.disabled = true;
    stripe.confirmCardPayment(button.dataset.clientSecret).then(function () {
      document.getElementById("payment-confirm-form").submit();
    });
  });
})();
