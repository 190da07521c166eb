"""REST API: auth, limits, field errors, read-only Cypher, on both stores (FastAPI TestClient,
real stores, no mocks)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient

from kg.api import ApiSettings, create_app
from kg.build import build_batch
from kg.config import QueryLimits
from kg.errors import ConfigError
from kg.store.base import GraphStore
from loaders import read_documents
from tests.helpers import FIXTURES, REPO, api_app

KEY = "test-key-0123456789abcdef"
OTHER = "other-key-0123456789abcdef"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture
def client(store: GraphStore) -> Iterator[TestClient]:
    store.write(build_batch(read_documents(FIXTURES / "bc5cdr" / "CDR_TrainingSet_excerpt.PubTator.txt")))
    settings = ApiSettings(api_keys=(KEY, OTHER), max_body_bytes=4096, query=QueryLimits(max_rows=5))  # type: ignore[arg-type]
    with TestClient(api_app(settings, store)) as c:
        yield c


def test_health_needs_no_key_and_reveals_only_the_store_kind(client: TestClient, store: GraphStore) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "store": store.dialect.name, "version": "1", "ready": False,
                        "diagnosis": "pending"}  # nothing built yet


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "wrong-key-0123456789abcdef"}, {"X-API-Key": KEY[:-1]}, {"Authorization": "Bearer nope"}],
    ids=["missing", "wrong", "prefix", "bearer-wrong"],
)
def test_every_data_endpoint_needs_a_valid_key(client: TestClient, headers: dict[str, str]) -> None:
    for path, body in [
        ("/v1/query", {"cypher": "MATCH (d:Drug) RETURN count(d) AS n"}),
        ("/v1/interactions/check", {"drugs": ["warfarin", "aspirin"]}),
        ("/v1/diagnosis/rank", {"findings": ["HP:0001166"]}),
    ]:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 401, (path, r.text)


def test_both_keys_and_bearer_form_are_accepted(client: TestClient) -> None:
    body = {"cypher": "MATCH (d:Drug) RETURN count(d) AS n"}
    for headers in (HEADERS, {"X-API-Key": OTHER}, {"Authorization": f"Bearer {KEY}"}):
        r = client.post("/v1/query", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["rows"][0]["n"] > 0


def test_query_is_parameterised_read_only_and_row_capped(client: TestClient) -> None:
    hostile = "x' }) DETACH DELETE n //"
    r = client.post("/v1/query", headers=HEADERS,
                    json={"cypher": "MATCH (d:Drug) WHERE d.name = $name RETURN d.id AS id", "params": {"name": hostile}})
    assert r.status_code == 200 and r.json() == {"columns": ["id"], "rows": [], "truncated": False, "truncated_by": None}

    r = client.post("/v1/query", headers=HEADERS, json={"cypher": "MATCH (d:Drug) RETURN d.id AS id"})
    assert r.status_code == 200
    assert len(r.json()["rows"]) == 5 and r.json()["truncated"] is True and r.json()["truncated_by"] == "rows"

    before = client.post("/v1/query", headers=HEADERS, json={"cypher": "MATCH (n) RETURN count(n) AS n"}).json()["rows"][0]["n"]
    for write in ("CREATE (:Drug {id: 'LOCAL:drug:x'})", "MATCH (n) DETACH DELETE n"):
        r = client.post("/v1/query", headers=HEADERS, json={"cypher": write})
        assert r.status_code == 400, r.text
    after = client.post("/v1/query", headers=HEADERS, json={"cypher": "MATCH (n) RETURN count(n) AS n"}).json()["rows"][0]["n"]
    assert after == before


def test_bad_fields_get_422_naming_the_field(client: TestClient) -> None:
    cases = [
        ("/v1/interactions/check", {"drugs": ["ok", ""]}, "drugs"),
        ("/v1/interactions/check", {"drugs": ["warfarin"], "max_evidence": 99}, "max_evidence"),
        ("/v1/interactions/check", {"drugs": ["warfarin"], "surprise": 1}, "..."),  # an unknown name is not said back
        ("/v1/interactions/check", {}, "drugs"),
        ("/v1/diagnosis/rank", {"findings": ["HP:0001166"], "age": -3}, "age"),
        ("/v1/diagnosis/rank", {"findings": ["HP:0001166"], "sex": "x"}, "sex"),
        ("/v1/diagnosis/rank", {"excluded": ["HP:0001166"]}, "findings"),
        ("/v1/query", {"cypher": ""}, "cypher"),
    ]
    for path, body, field in cases:
        r = client.post(path, json=body, headers=HEADERS)
        assert r.status_code == 422, (path, body, r.text)
        locs = [d["loc"] for d in r.json()["detail"]]
        assert any(field in loc for loc in locs), (field, locs)


def test_malformed_json_is_a_4xx_not_a_crash(client: TestClient) -> None:
    r = client.post("/v1/query", content=b'{"cypher": "MATCH', headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_body_limit_by_header_and_by_stream(client: TestClient) -> None:
    big = {"cypher": "RETURN 1 AS x", "params": {"pad": "x" * 5000}}
    r = client.post("/v1/query", json=big, headers=HEADERS)
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b'{"cypher": "RETURN 1 AS x", "params": {"pad": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}}'

    r = client.post("/v1/query", content=chunks(), headers={**HEADERS, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_access_log_holds_no_bodies(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "patient reports SECRET-NOTE-TEXT"
    with caplog.at_level(logging.DEBUG, logger="medkg.api"):
        client.post("/v1/query", headers=HEADERS, json={"cypher": "RETURN $t AS t", "params": {"t": secret}})
    assert any("/v1/query" in r.getMessage() for r in caplog.records)
    assert all(secret not in r.getMessage() and KEY not in r.getMessage() for r in caplog.records)


def test_startup_refuses_missing_or_short_keys() -> None:
    with pytest.raises(ConfigError, match="MEDKG_API_KEYS"):
        create_app(ApiSettings())
    with pytest.raises(ConfigError, match="at least 16"):
        create_app(ApiSettings(api_keys=("short",)))  # type: ignore[arg-type]
    assert ApiSettings.from_env({"MEDKG_API_KEYS": f" {KEY} ,{OTHER},"}).api_keys[1].get_secret_value() == OTHER


def test_cors_is_off_by_default(client: TestClient) -> None:
    r = client.options("/v1/query", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in {k.lower() for k in r.headers}


def test_compose_runs_the_api_on_loopback_with_required_keys() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    api = compose["services"]["api"]
    assert api["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert all(p.startswith("127.0.0.1:") for p in api["ports"])
    assert ":?" in api["environment"]["MEDKG_API_KEYS"]  # no default key


# -- the two questions, through HTTP, on graphs written by the curated path --------------------


@pytest.fixture
def answering_client(store: GraphStore) -> Iterator[TestClient]:
    from loaders.curated import hpo
    from tests.kg.test_interactions import ddinter_documents

    store.write(build_batch([*ddinter_documents(), *hpo.read(FIXTURES / "diagnosis")], schema=store.schema))
    with TestClient(api_app(ApiSettings(api_keys=(KEY,)), store)) as c:  # type: ignore[arg-type]
        yield c


def test_warm_start_builds_resolver_and_index_in_the_background(store: GraphStore) -> None:
    from loaders.curated import hpo

    store.write(build_batch(list(hpo.read(FIXTURES / "diagnosis")), schema=store.schema))
    settings = ApiSettings.from_env({"MEDKG_API_KEYS": KEY, "MEDKG_API_WARM": "1"})
    assert settings.warm
    app = api_app(settings, store)
    with TestClient(app) as c:
        app.state.warm_thread.join(timeout=300)
        assert not app.state.warm_thread.is_alive()
        assert c.get("/v1/health").json()["ready"] is True
        index = app.state.service.index()
        r = c.post("/v1/diagnosis/rank", headers=HEADERS, json={"findings": ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0001519"], "top_k": 1})
        assert r.status_code == 200, r.text
        assert r.json()["candidates"][0]["disease_id"] == "OMIM:154700"
        assert app.state.service.index() is index  # the warm build is the one requests use
    assert not ApiSettings.from_env({"MEDKG_API_KEYS": KEY}).warm
    # `medkg serve` warms by default; the environment can turn it off, a flag beats both
    assert ApiSettings.from_env({"MEDKG_API_KEYS": KEY}, warm_default=True).warm
    assert not ApiSettings.from_env({"MEDKG_API_KEYS": KEY, "MEDKG_API_WARM": "0"}, warm_default=True).warm
    assert ApiSettings.from_env({"MEDKG_API_KEYS": KEY, "MEDKG_API_WARM": "0"}, warm_default=True, warm=True).warm


def test_interaction_check_over_http(answering_client: TestClient) -> None:
    r = answering_client.post("/v1/interactions/check", headers=HEADERS,
                              json={"drugs": ["Coumadin", "aspirin", "omeprazole", "xyzzy"]})
    assert r.status_code == 200, r.text
    report = r.json()
    top = report["interactions"][0]
    assert {top["drug_a"]["id"], top["drug_b"]["id"]} == {"DRUGBANK:DB00682", "DRUGBANK:DB00945"}
    assert top["severity"] == "Major" and top["curated"] is True
    assert [u["input"] for u in report["unresolved"]] == ["xyzzy"]
    severities = [i["severity"] for i in report["interactions"]]
    order = {"Contraindicated": 0, "Major": 1, "Moderate": 2, "Minor": 3, "Unknown": 4}
    assert severities == sorted(severities, key=order.__getitem__)
    assert top["tier"] == "interrupt" and top["why"].startswith("Major (interrupt)") and top["said"]
    # the ranked sections: a Minor pair is a field of its own, not an alert and not dropped
    r = answering_client.post("/v1/interactions/check", headers=HEADERS, json={"drugs": ["warfarin", "simvastatin"]})
    body = r.json()
    assert body["interactions"] == [] and [x["severity"] for x in body["also_documented"]] == ["Minor"]

    r = answering_client.post("/v1/interactions/check", headers=HEADERS, json={"patient_id": "no-such-patient"})
    assert r.status_code == 404 and "unknown patient" in r.text and "no-such-patient" not in r.text


def test_neo4j_queries_are_bounded_in_number(store: GraphStore) -> None:
    """Neo4j checks its timeout between rows, so a query can hold its request thread past the
    limit: the API runs at most ``workers`` at once and turns the next away (503) after the wait."""
    if store.dialect.name != "neo4j":
        pytest.skip("the embedded store is bounded by its worker processes (tests/security)")
    app = api_app(ApiSettings(api_keys=(KEY,), query=QueryLimits(workers=1, queue_timeout_s=0)), store)  # type: ignore[arg-type]
    with TestClient(app) as c:
        with app.state.service.query_slot():  # the one slot is taken
            r = c.post("/v1/query", headers=HEADERS, json={"cypher": "RETURN 1 AS x"})
            assert r.status_code == 503 and r.headers["Retry-After"] == "1" and "busy" in r.json()["detail"]
        r = c.post("/v1/query", headers=HEADERS, json={"cypher": "RETURN 1 AS x"})
        assert r.status_code == 200 and r.json()["rows"] == [{"x": 1}]  # the slot was given back


def test_diagnosis_calls_are_bounded_in_time_and_in_number(store: GraphStore) -> None:
    from loaders.curated import hpo

    store.write(build_batch(list(hpo.read(FIXTURES / "diagnosis")), schema=store.schema))
    settings = ApiSettings(api_keys=(KEY,), diagnosis_timeout_s=1e-9, diagnosis_workers=1,  # type: ignore[arg-type]
                           query=QueryLimits(queue_timeout_s=0))
    body = {"findings": ["HP:0001166", "swelling near the left knee with redness " * 4], "top_k": 3}
    app = api_app(settings, store)
    with TestClient(app) as c:
        r = c.post("/v1/diagnosis/rank", headers=HEADERS, json=body)
        assert r.status_code == 400 and "time limit" in r.json()["detail"] and "knee" not in r.text
        with app.state.service.diagnosis_slot():  # the one slot is taken: the next call is turned away
            r = c.post("/v1/diagnosis/rank", headers=HEADERS, json=body)
            assert r.status_code == 503 and r.headers["Retry-After"] == "1" and "busy" in r.json()["detail"]
        r = c.post("/v1/diagnosis/rank", headers=HEADERS, json=body)
        assert r.status_code == 400 and "time limit" in r.json()["detail"]  # the slot was given back
    env = {"MEDKG_API_KEYS": KEY, "MEDKG_API_DIAGNOSIS_TIMEOUT_S": "2.5", "MEDKG_API_DIAGNOSIS_WORKERS": "3"}
    configured = ApiSettings.from_env(env)
    assert (configured.diagnosis_timeout_s, configured.diagnosis_workers) == (2.5, 3)
    defaults = ApiSettings.from_env({"MEDKG_API_KEYS": KEY})
    assert (defaults.diagnosis_timeout_s, defaults.diagnosis_workers) == (10.0, 2)
    for var, value in (("MEDKG_API_DIAGNOSIS_TIMEOUT_S", "soon"), ("MEDKG_API_DIAGNOSIS_TIMEOUT_S", "inf"),
                       ("MEDKG_API_DIAGNOSIS_WORKERS", "0"), ("MEDKG_API_MAX_BODY", "10")):
        with pytest.raises(ConfigError, match=f"^invalid API setting {var}: "):
            ApiSettings.from_env({"MEDKG_API_KEYS": KEY, var: value})
    with pytest.raises(ConfigError, match="^invalid API setting diagnosis_workers: "):  # a flag names itself
        ApiSettings.from_env({"MEDKG_API_KEYS": KEY}, diagnosis_workers=0)


def test_diagnosis_ranking_over_http(answering_client: TestClient) -> None:
    findings = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0001519"]  # Marfan's hallmark features
    r = answering_client.post("/v1/diagnosis/rank", headers=HEADERS, json={"findings": findings, "top_k": 3})
    assert r.status_code == 200, r.text
    candidates = r.json()["candidates"]
    assert candidates[0]["disease_id"] == "OMIM:154700" and len(candidates) == 3
    assert {m["finding"] for m in candidates[0]["matched"]} == set(findings)
