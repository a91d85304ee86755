"""template.yaml as `sam deploy` sends it (translated by aws-sam-translator, no AWS account): it lints clean,
has no circular dependency, and holds what a real account needs to run it and to operate it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
from cfnlint.api import lint_file

from infrastructure.cfn import Document, key_limits, listed, of_type, points_at, refs, role_statements

ASYNC_PRINCIPALS = {"events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com", "scheduler.amazonaws.com"}
NIGHTLY = {"BalanceRefreshFunction": "balance-refresh", "AccountingSyncFunction": "accounting-sync"}


def _alarms(translated: Document) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in of_type(translated, "AWS::CloudWatch::Alarm").items()}


def _alarmed_metrics(translated: Document) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(alarm, metric name, dimensions {name: value}, alarm properties) for every metric an alarm watches."""
    found = []
    for name, props in _alarms(translated).items():
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m] or [props]
        for metric in stats:
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append((name, metric["MetricName"], dims, props))
    return found


def _async_functions(translated: Document) -> set[str]:
    """Functions something invokes asynchronously: schedules, topics, buckets (their Lambda permissions)."""
    permissions = of_type(translated, "AWS::Lambda::Permission").values()
    return {next(iter(refs(p["Properties"]["FunctionName"]))) for p in permissions
            if p["Properties"]["Principal"] in ASYNC_PRINCIPALS}


def _dead_letter_queues(translated: Document) -> set[str]:
    """Queues where failed work ends: redrive targets, on-failure destinations, schedule and topic DLQs."""
    found: set[str] = set()
    for queue in of_type(translated, "AWS::SQS::Queue").values():
        found |= refs((queue["Properties"].get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
    for config in of_type(translated, "AWS::Lambda::EventInvokeConfig").values():
        found |= refs(config["Properties"].get("DestinationConfig"))
    for rule in of_type(translated, "AWS::Events::Rule").values():
        found |= {q for t in rule["Properties"]["Targets"] for q in refs(t.get("DeadLetterConfig"))}
    for subscription in of_type(translated, "AWS::SNS::Subscription").values():
        found |= refs(subscription["Properties"].get("RedrivePolicy"))
    return found


def test_cfn_lint_finds_no_error_in_the_translated_template(translated: Document) -> None:
    # Given the CloudFormation template sam deploy would send
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "translated.json"
        path.write_text(json.dumps(translated))
        # When cfn-lint checks it (E3004 is a circular dependency)
        matches = lint_file(path)
    # Then it finds nothing at all
    assert [f"{m.rule.id}: {m.message}" for m in matches] == []


def test_no_resource_depends_on_itself_through_others(translated: Document) -> None:
    # Given every reference between resources (Ref, GetAtt, Sub, DependsOn)
    graph = nx.DiGraph()
    resources = translated["Resources"]
    for name, resource in resources.items():
        graph.add_node(name)
        for target in refs(resource) | set(listed(resource.get("DependsOn"))):
            if target in resources:
                graph.add_edge(name, target)
    # When cycles are looked for
    # Then there is none (CloudFormation refuses a template with one)
    assert list(nx.simple_cycles(graph)) == []


def test_the_api_has_only_its_own_stage(translated: Document) -> None:
    # Given the API Gateway stages
    stages = [s["Properties"]["StageName"] for s in of_type(translated, "AWS::ApiGateway::Stage").values()]
    # Then there is one, named by the Stage parameter (no unthrottled, unlogged "Stage" stage)
    assert stages == [{"Ref": "Stage"}]


def test_the_stage_waits_for_the_accounts_cloudwatch_logs_role(translated: Document) -> None:
    # Given the API's stage, which logs access, and the account-level API Gateway setting
    account = of_type(translated, "AWS::ApiGateway::Account")
    assert list(account) == ["ApiGatewayAccount"]
    assert account["ApiGatewayAccount"]["Condition"] == "SetsApiGatewayAccountRole"
    assert translated["Parameters"]["SetApiGatewayAccountRole"]["Default"] == "true"
    # When what the stage depends on is followed
    graph = nx.DiGraph()
    for name, resource in translated["Resources"].items():
        for target in refs(resource) | set(listed(resource.get("DependsOn"))):
            graph.add_edge(name, target)
    stage = next(iter(of_type(translated, "AWS::ApiGateway::Stage")))
    # Then it is created after the role is set (when this stack sets it)
    assert "ApiGatewayAccount" in nx.descendants(graph, stage)


def test_ses_can_publish_bounces_to_the_encrypted_topic(translated: Document) -> None:
    resources = translated["Resources"]
    # Given the SES event destination and the topic it sends to
    destination = next(iter(of_type(translated, "AWS::SES::ConfigurationSetEventDestination").values()))
    topic = next(iter(refs(destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"])))
    key_id = resources[topic]["Properties"]["KmsMasterKeyId"]
    # When the topic's key and policies are read
    # Then the key is one of the stack's (an AWS-managed alias/aws/sns key cannot grant SES) ...
    key = resources[next(iter(refs(key_id)))]
    assert key["Type"] == "AWS::KMS::Key"
    grants = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
              if "ses.amazonaws.com" in listed(s["Principal"].get("Service"))]
    assert grants and {"kms:GenerateDataKey*", "kms:Decrypt"} <= {a for s in grants for a in listed(s["Action"])}
    # ... and the topic policy lets SES publish
    policies = [p for p in of_type(translated, "AWS::SNS::TopicPolicy").values()
                if any(points_at(t, topic) for t in p["Properties"]["Topics"])]
    assert any("ses.amazonaws.com" in listed(s["Principal"].get("Service")) and "sns:Publish" in listed(s["Action"])
               for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"])


def test_every_asynchronously_invoked_function_keeps_its_failures(translated: Document) -> None:
    # Given the functions that schedules, topics or buckets invoke asynchronously
    functions = _async_functions(translated)
    assert {"BounceFunction", "BalanceRefreshFunction", "AccountingSyncFunction", "MailerFunction"} <= functions
    # When their asynchronous-invocation settings are read
    configs = {next(iter(refs(c["Properties"]["FunctionName"]))): c["Properties"]
               for c in of_type(translated, "AWS::Lambda::EventInvokeConfig").values()}
    # Then each sends an event that failed its retries to a queue, instead of dropping it
    missing = sorted(f for f in functions if not configs.get(f, {}).get("DestinationConfig", {}).get("OnFailure"))
    assert missing == []
    for function in functions:
        destination = refs(configs[function]["DestinationConfig"]["OnFailure"]["Destination"])
        assert {translated["Resources"][d]["Type"] for d in destination} == {"AWS::SQS::Queue"}
    # And the schedules' and the topic's own undelivered events go to a queue too
    for rule in of_type(translated, "AWS::Events::Rule").values():
        assert all(t.get("DeadLetterConfig") for t in rule["Properties"]["Targets"]), rule
    for subscription in of_type(translated, "AWS::SNS::Subscription").values():
        if subscription["Properties"]["Protocol"] == "lambda":
            assert subscription["Properties"].get("RedrivePolicy")


def test_every_dead_letter_queue_has_an_alarm(translated: Document) -> None:
    # Given every queue where failed work ends
    queues = _dead_letter_queues(translated)
    assert len(queues) >= 5
    # When the alarms on queue depth are read
    watched = {next(iter(refs(dims.get("QueueName")))) for _, metric, dims, _ in _alarmed_metrics(translated)
               if metric == "ApproximateNumberOfMessagesVisible" and refs(dims.get("QueueName"))}
    # Then each dead-letter queue has one
    assert sorted(queues - watched) == []


def test_every_alarm_tells_the_alarm_topic_and_is_on_the_dashboard(translated: Document) -> None:
    # Given every alarm and the dashboard
    alarms = _alarms(translated)
    dashboard = next(iter(of_type(translated, "AWS::CloudWatch::Dashboard").values()))
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body)["widgets"]
    listed_alarms = {a.removeprefix("${").removesuffix(".Arn}") for w in widgets if w["type"] == "alarm"
                     for a in w["properties"]["alarms"]}
    # Then each one publishes to the alarm topic, both when it fires and when it clears
    assert [n for n, a in alarms.items() if not any(points_at(x, "AlarmTopic") for x in a["AlarmActions"])] == []
    assert [n for n, a in alarms.items() if not any(points_at(x, "AlarmTopic") for x in a.get("OKActions", []))] == []
    # And the dashboard shows every alarm's state
    assert sorted(set(alarms) - listed_alarms) == [] and sorted(listed_alarms - set(alarms)) == []


def test_the_alarm_topic_can_reach_its_subscriber(translated: Document) -> None:
    resources = translated["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    key = resources[next(iter(refs(topic["KmsMasterKeyId"])))]["Properties"]
    # CloudWatch may use the topic's key, an email subscription follows the parameter
    assert any("cloudwatch.amazonaws.com" in listed(s["Principal"].get("Service"))
               for s in key["KeyPolicy"]["Statement"])
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"
    assert translated["Parameters"]["AlarmEmail"]["Default"] == ""


def test_each_function_has_error_and_throttle_alarms(translated: Document) -> None:
    functions = set(of_type(translated, "AWS::Lambda::Function"))
    watched: dict[str, set[str]] = {}
    for _, metric, dims, _ in _alarmed_metrics(translated):
        for function in refs(dims.get("FunctionName")):
            watched.setdefault(metric, set()).add(function)
    assert sorted(functions - watched["Errors"]) == []
    assert sorted(functions - watched["Throttles"]) == []


def test_each_work_queue_has_an_age_alarm(translated: Document) -> None:
    # Given the queues functions take work from
    consumed = {next(iter(refs(m["Properties"]["EventSourceArn"])))
                for m in of_type(translated, "AWS::Lambda::EventSourceMapping").values()}
    aged = {next(iter(refs(dims["QueueName"]))) for _, metric, dims, _ in _alarmed_metrics(translated)
            if metric == "ApproximateAgeOfOldestMessage"}
    # Then work that waits too long on any of them raises an alarm
    assert consumed and sorted(consumed - aged) == []


def test_the_operational_alarms_are_there(translated: Document) -> None:
    metrics = {(metric, json.dumps(dims, sort_keys=True)) for _, metric, dims, _ in _alarmed_metrics(translated)}
    names = {metric for metric, _ in metrics}
    # API 5xx rate and latency, SES reputation, table throttling, failed imports
    assert {"5XXError", "Latency", "Reputation.BounceRate", "Reputation.ComplaintRate", "ReadThrottleEvents",
            "WriteThrottleEvents", "ImportsFailed"} <= names
    five_xx = next(p for _, m, _, p in _alarmed_metrics(translated) if m == "5XXError")
    assert five_xx["Statistic"] == "Average" and five_xx["Threshold"] <= 0.05  # a rate, not a count
    ses = {m: p["Threshold"] for _, m, _, p in _alarmed_metrics(translated) if m.startswith("Reputation.")}
    assert ses["Reputation.BounceRate"] < 0.05 and ses["Reputation.ComplaintRate"] < 0.001  # before SES reviews


def test_the_nightly_jobs_have_a_heartbeat_alarm(translated: Document) -> None:
    # Given the nightly functions and the metric each completed run counts
    for function, service in NIGHTLY.items():
        alarms = [p for _, metric, dims, p in _alarmed_metrics(translated)
                  if metric == "RunCompleted" and dims.get("service") == service]
        # Then a missing run raises an alarm: no data counts as missing, over a window a little past a day
        assert len(alarms) == 1, function
        alarm = alarms[0]
        assert alarm["TreatMissingData"] == "breaching" and alarm["ComparisonOperator"] == "LessThanThreshold"
        assert 24 * 3600 < alarm["Period"] * alarm["EvaluationPeriods"] <= 30 * 3600
        env = translated["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == service
        assert alarm["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]


def test_staff_accounts_and_customer_data_outlive_the_stack(translated: Document) -> None:
    for name in ("StaffUserPool", "CustomersTable"):
        resource = translated["Resources"][name]
        assert resource.get("DeletionPolicy") == "Retain" and resource.get("UpdateReplacePolicy") == "Retain", name


def test_no_secret_is_in_a_functions_environment(translated: Document, document: Document) -> None:
    resources = translated["Resources"]
    for name, function in of_type(translated, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        # no value resolved from Secrets Manager at deploy time ...
        assert "resolve:secretsmanager" not in json.dumps(variables), name
        # ... but the secrets' names, which the function may read at run time: each one its own environment
        # names, and the cursor key (named for all in Globals) wherever the function reads the table
        own = document["Resources"][name]["Properties"].get("Environment", {}).get("Variables", {})
        reads_table = any(points_at(arn, "TableReadPolicy") for arn in
                          translated["Resources"][f"{name}Role"]["Properties"].get("ManagedPolicyArns", []))
        for variable, value in variables.items():
            if variable.endswith("_SECRET") and (variable in own or reads_table):
                secret = next(iter(refs(value)))
                assert resources[secret]["Type"] == "AWS::SecretsManager::Secret"
                readable = [s for s in role_statements(translated, name) if "secretsmanager:GetSecretValue"
                            in listed(s["Action"]) and any(points_at(r, secret) for r in listed(s["Resource"]))]
                assert readable, f"{name} cannot read {secret}"
        # and traces do not record what functions answer (customer data, temporary passwords)
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", name


def test_public_routes_are_throttled_apart_from_staff_routes(translated: Document) -> None:
    # Given the stage's method settings and the routes open without sign-in
    stage = next(iter(of_type(translated, "AWS::ApiGateway::Stage").values()))["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    staff = settings[("/*", "*")]
    paths = json.loads(json.dumps(next(iter(of_type(translated, "AWS::ApiGateway::RestApi").values()))
                                  ["Properties"]["Body"]["paths"]))
    public = [(path, method.upper()) for path, methods in paths.items() for method, operation in methods.items()
              if isinstance(operation, dict) and all(set(r) <= {"NONE"} for r in operation.get("security", []))]
    assert ("/public/login", "POST") in public and ("/customers", "GET") not in public
    # Then each public route has its own, lower, limits
    for path, method in public:
        own = settings.get(("/" + path.replace("/", "~1"), method))  # API Gateway writes / as ~1
        assert own, f"{method} {path} has no method setting"
        assert own["ThrottlingRateLimit"] == {"Ref": "PublicThrottleRate"}
        assert own["ThrottlingBurstLimit"] == {"Ref": "PublicThrottleBurst"}
    assert staff["ThrottlingRateLimit"] == {"Ref": "ApiThrottleRate"}
    rates = translated["Parameters"]
    assert int(rates["PublicThrottleRate"]["Default"]) < int(rates["ApiThrottleRate"]["Default"])


def test_the_public_function_writes_only_its_own_items(translated: Document) -> None:
    # Given the statements of the unauthenticated function's role
    statements = role_statements(translated, "PublicApiFunction")
    writes = [s for s in statements if any(a.startswith("dynamodb:") and a.split(":")[1] not in
                                           ("GetItem", "BatchGetItem", "Query") for a in listed(s["Action"]))]
    # Then every table write it may make is limited by partition key to web logins, rate counters, reset tokens
    # and trusted addresses: no customer's records
    assert writes and all(key_limits(s) for s in writes)
    assert {k for s in writes for k in key_limits(s) or []} == {"LOGIN#*", "RATE#*", "RESET#*", "SIGNIN#*"}
    # And every read too: never, say, the answers kept for retried staff writes (IDEMPOTENCY#)
    reads = [s for s in statements if any(a.startswith("dynamodb:") for a in listed(s["Action"]))]
    assert all(key_limits(s) for s in reads)
    assert not any(k.startswith(("IDEMPOTENCY", "*")) for s in reads for k in key_limits(s) or [])
    managed = translated["Resources"]["PublicApiFunctionRole"]["Properties"].get("ManagedPolicyArns", [])
    assert not any(points_at(arn, "TableWritePolicy") or points_at(arn, "TableReadPolicy") for arn in managed)
