// The card Element (Stripe, or localstripe's stand-in in the tests): on submit the card is
// confirmed with the page's SetupIntent (3-D Secure if the bank asks), then the form is sent
// with the SetupIntent's id only. A form that pays with the card on file is sent as it is.
(function () {
  "use strict";
  var mount = document.getElementById("card-element");
  if (!mount || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(mount.dataset.stripeKey);
  var card = stripe.elements().create("card");
  card.mount(mount);
  var form = mount.closest("form");
  var errors = document.getElementById("card-errors");
  var useSaved = document.getElementById("use-card-on-file");
  var button = form.querySelector("button[type=submit]");
  function fail(message) {
    errors.textContent = message;
    errors.hidden = false;
    button.disabled = false;
  }
  card.on("change", function () { if (useSaved) { useSaved.checked = false; } });
  form.addEventListener("submit", function (event) {
    if (useSaved && useSaved.checked) { return; }
    var invoice = form.querySelector("input[name=payment_method][value=invoice]");
    if (invoice && invoice.checked) { return; }
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    stripe.confirmCardSetup(mount.dataset.setupSecret, {payment_method: {card: card}}).then(function (result) {
      if (result.error) {
        fail(result.error.message || "Your card could not be saved: check it and try again.");
        return;
      }
      document.getElementById("card-setup").value = result.setupIntent.id;
      form.submit();
    });
  });
})();
