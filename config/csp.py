"""The Content Security Policy's additions for Stripe: exactly its script, frame and API origins
(Stripe's documented list), nothing inline. With localstripe (tests, demos) its one origin serves
both the stand-in stripe.js and the API."""

from urllib.parse import urlsplit


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def with_stripe(policy, *, js_url, api_base):
    js, api = _origin(js_url), _origin(api_base or "https://api.stripe.com")
    frames = [js, "https://hooks.stripe.com"] if js == "https://js.stripe.com" else [js]
    policy = {name: list(values) for name, values in policy.items()}
    policy["script-src"] = [*policy["script-src"], js]
    policy["connect-src"] = [*policy["connect-src"], *dict.fromkeys([api, js])]
    policy["frame-src"] = [*policy.get("frame-src", []), *frames]
    return policy
