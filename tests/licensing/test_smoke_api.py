def test_smoke(agent):
    from tests.licensing.conftest import event
    data = agent.checkin(event("eva"), event("bob", domain="ACME"), event("EVA"))
    print(data)
    assert data["account"]["used"] == 2


def test_pages_smoke(admin_client, agent):
    from tests.licensing.conftest import event
    agent.checkin(event("eva"), event("bob", domain="ACME"))
    r = admin_client.get("/users/")
    assert r.status_code == 200, r.content
    uid = r.context["rows"][0].pk
    for action in ["alias", "merge", "do-not-track", "delete"]:
        assert admin_client.get(f"/users/{uid}/{action}/").status_code == 200
    assert admin_client.get("/agents/").status_code == 200
    r = admin_client.post("/agents/", {"name": "x"})
    assert b"wa_" in r.content
