def test_smoke(agent):
    from tests.licensing.conftest import event
    data = agent.checkin(event("eva"), event("bob", domain="ACME"), event("EVA"))
    print(data)
    assert data["account"]["used"] == 2
