"""`albauth import-rules`: describe-listeners / describe-rules output and CloudFormation
templates (shapes from AWS's API and template references) into configurations that pass
`albauth check-config`, with what albauth cannot emulate listed on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from albauth.config.cfn_template import CfnLoader

from .helpers import albauth_sync, write

INPUTS = Path(__file__).parent / "inputs"
LISTENERS, RULES, TEMPLATE = (str(INPUTS / n) for n in ("describe-listeners.json", "describe-rules.json",
                                                           "alb-template.yaml"))
SECRET = "an-imported-session-secret-0123456789abcdef"


@pytest.fixture
def tls_env(tls_files: tuple[str, str]) -> dict[str, str]:
    """What the imported configurations name: PEM files, a session secret."""
    return {"TLS_CERT_FILE": tls_files[0], "TLS_KEY_FILE": tls_files[1], "ALBAUTH_SESSION_SECRET": SECRET}


def _import(tmp_path: Path, *files: str) -> tuple[str, dict[str, Any], list[str]]:
    result = albauth_sync("import-rules", *files)
    assert result.returncode == 0, result.stderr
    notes = result.stderr.splitlines()
    assert all(line.startswith("albauth: import-rules: note: ") for line in notes), notes
    path = write(tmp_path / "imported.yaml", result.stdout)
    return path, yaml.safe_load(result.stdout), notes


def _checks(path: str, env: dict[str, str]) -> None:
    offline = albauth_sync("check-config", "--offline", path)
    assert offline.returncode == 0, offline.stderr
    online = albauth_sync("check-config", path, env=env)
    assert online.returncode == 0, online.stderr
    assert "OK" in online.stdout


def test_describe_listeners_and_rules_round_trip_through_check_config(tmp_path: Path,
                                                                    tls_env: dict[str, str]) -> None:
    path, doc, notes = _import(tmp_path, LISTENERS, RULES)
    _checks(path, {**tls_env, "OIDC_CLIENT_SECRET": "web-admin-secret"})
    assert doc["albauth"]["target_groups"] == {"web-app": {"targets": ["http://TODO-web-app:80"]},
                                               "admin-app": {"targets": ["http://TODO-admin-app:80"]}}
    https, http = doc["listeners"]
    assert (https["Protocol"], https["Port"], http["Protocol"], http["Port"]) == ("HTTPS", 443, "HTTP", 80)
    assert https["albauth"] == {"certificate_file": "${TLS_CERT_FILE}", "key_file": "${TLS_KEY_FILE}"}
    assert [r["Priority"] for r in https["Rules"]] == ["10", "20"]  # the default rule is DefaultActions
    oidc = https["Rules"][0]["Actions"][0]["AuthenticateOidcConfig"]
    assert oidc["ClientSecret"] == "${OIDC_CLIENT_SECRET}" and "UseExistingClientSecret" not in oidc
    assert https["Rules"][0]["Actions"][1]["ForwardConfig"] == {"TargetGroups": [{"TargetGroupArn": "admin-app",
                                                                                  "Weight": 1}]}
    assert https["DefaultActions"][0]["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"] == "web-app"
    said = "\n".join(notes)
    for expected in ("stickiness is not emulated", "SslPolicy ELBSecurityPolicy-TLS13-1-2-2021-06",
                     "arn:aws:acm:eu-west-1:123456789012:certificate/", "TODO-web-app"):
        assert expected in said, expected


def test_describe_rules_alone_gets_a_listener_and_says_its_port_is_assumed(tmp_path: Path) -> None:
    path, doc, notes = _import(tmp_path, RULES)
    [listener] = doc["listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTPS", 443)
    assert any("does not give the listener's protocol and port" in n for n in notes)
    assert albauth_sync("check-config", "--offline", path).returncode == 0


def test_a_cloudformation_template_round_trips_through_check_config(tmp_path: Path,
                                                                     tls_env: dict[str, str]) -> None:
    path, doc, notes = _import(tmp_path, TEMPLATE)
    _checks(path, {**tls_env, "OidcClientSecret": "api-secret", "COGNITO_CLIENT_SECRET": "cognito-secret",
                   "AWS_ACCOUNT_ID": "123456789012"})
    assert doc["albauth"]["target_groups"] == {"AppTargetGroup": {"targets": ["http://TODO-AppTargetGroup:8080"]},
                                               "ApiTargetGroup": {"targets": ["http://TODO-ApiTargetGroup:9000"]}}
    https = doc["listeners"][0]
    cognito = https["DefaultActions"][0]
    assert cognito["AuthenticateCognitoConfig"]["UserPoolDomain"] == "auth-${AWS_ACCOUNT_ID}"  # !Sub ${AWS::AccountId}
    assert cognito["albauth"] == {"client_secret": "${COGNITO_CLIENT_SECRET}"}
    rule = https["Rules"][0]
    oidc = rule["Actions"][0]["AuthenticateOidcConfig"]
    assert oidc["Issuer"] == "https://login.${Domain:-example.com}"  # !Sub with the parameter's Default
    assert oidc["TokenEndpoint"] == "https://login.${Domain:-example.com}/oauth2/token"  # !Join
    assert oidc["UserInfoEndpoint"] == "https://login.${Domain:-example.com}/oauth2/userinfo"  # !Sub [text, vars]
    assert oidc["ClientSecret"] == "${OidcClientSecret}"  # !Ref a NoEcho parameter
    assert rule["Actions"][1]["TargetGroupArn"] == "ApiTargetGroup"  # !GetAtt ApiTargetGroup.TargetGroupArn
    assert rule["Conditions"][0]["HostHeaderConfig"]["Values"] == ["api.${Domain:-example.com}"]
    assert doc["LoadBalancerAttributes"] == [{"Key": "routing.http.drop_invalid_header_fields.enabled",
                                              "Value": "true"}]
    assert any("!Ref CertificateArn" in n for n in notes)


def test_the_same_template_in_json_gives_the_same_configuration(tmp_path: Path) -> None:
    long_form = yaml.load(Path(TEMPLATE).read_text(), Loader=CfnLoader)  # noqa: S506 - a SafeLoader
    as_json = write(tmp_path / "template.json", json.dumps(long_form))
    assert '"Fn::Sub"' in Path(as_json).read_text() and '"Ref"' in Path(as_json).read_text()
    _, from_json, _ = _import(tmp_path, as_json)
    _, from_yaml, _ = _import(tmp_path, TEMPLATE)
    assert from_json == from_yaml


TEMPLATE_EXTRAS = """\
Resources:
  Tg: {Type: "AWS::ElasticLoadBalancingV2::TargetGroup", Properties: {Port: 80, Protocol: HTTP}}
  Nlb:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties: {Port: 5432, Protocol: TCP, DefaultActions: [{Type: forward, TargetGroupArn: !Ref Tg}]}
  Web:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Port: 8443
      Protocol: HTTPS
      MutualAuthentication: {Mode: verify, TrustStoreArn: !Ref TrustStore}
      DefaultActions:
        - Type: authenticate-oidc
          AuthenticateOidcConfig:
            Issuer: https://idp.example.com
            AuthorizationEndpoint: https://idp.example.com/a
            TokenEndpoint: https://idp.example.com/t
            UserInfoEndpoint: https://idp.example.com/u
            ClientId: web
            ClientSecret: s3cr3t-written-in-the-template
          Order: 1
        - {Type: forward, Order: 2, TargetGroupArn: !Ref Tg}
  JwtRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Web
      Priority: 1
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: [/api/*]}}]
      Actions: [{Type: jwt-validation, JwtValidationConfig: {}}, {Type: forward, TargetGroupArn: !Ref Tg}]
  RegexRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Web
      Priority: 2
      Conditions: [{Field: host-header, HostHeaderConfig: {RegexValues: ["^a+$"]}}]
      Actions: [{Type: forward, TargetGroupArn: !GetAtt [Tg, TargetGroupArn]}]
  Rewrite:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Web
      Priority: 3
      Conditions: [{Field: path-pattern, PathPatternConfig: {Values: [/old/*]}}]
      Transforms: [{Type: url-rewrite}]
      Actions: [{Type: forward, TargetGroupArn: !Ref Tg}]
  Kept:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Web
      Priority: 4
      Conditions: [{Field: source-ip, SourceIpConfig: {Values: [10.0.0.0/8]}}]
      Actions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "200", MessageBody: !ImportValue Body}}]
"""


def test_what_albauth_cannot_emulate_is_listed_and_left_out(tmp_path: Path) -> None:
    template = write(tmp_path / "extras.yaml", TEMPLATE_EXTRAS)
    result = albauth_sync("import-rules", template)
    assert result.returncode == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    [web] = doc["listeners"]
    assert web["Port"] == 8443 and "MutualAuthentication" not in web
    assert [r["Priority"] for r in web["Rules"]] == [4]
    assert web["Rules"][0]["Actions"][0]["FixedResponseConfig"]["MessageBody"] == "${MESSAGEBODY}"
    for expected in ("TCP listener", "MutualAuthentication verify", "'jwt-validation' is not emulated",
                     "HostHeaderConfig.RegexValues is not emulated", "Transforms", "!ImportValue",
                     "TLS_CERT_FILE and TLS_KEY_FILE",
                     "the ClientSecret written in the input was replaced by ${OIDC_CLIENT_SECRET}"):
        assert expected in result.stderr, expected
    assert albauth_sync("check-config", "--offline", write(tmp_path / "out.yaml", result.stdout)).returncode == 0


def test_a_secret_written_in_the_input_never_reaches_the_output(tmp_path: Path) -> None:
    result = albauth_sync("import-rules", write(tmp_path / "extras.yaml", TEMPLATE_EXTRAS))
    assert "s3cr3t-written-in-the-template" not in result.stdout + result.stderr
    oidc = yaml.safe_load(result.stdout)["listeners"][0]["DefaultActions"][0]["AuthenticateOidcConfig"]
    assert oidc["ClientSecret"] == "${OIDC_CLIENT_SECRET}"


def test_inputs_of_no_known_shape_are_usage_errors_in_one_line(tmp_path: Path) -> None:
    for text in ('{"LoadBalancers": []}', "key: [unclosed", "- a list\n"):
        result = albauth_sync("import-rules", write(tmp_path / "x.json", text))
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("albauth: import-rules: ")
    missing = albauth_sync("import-rules", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "cannot read the file" in missing.stderr
    helped = albauth_sync("import-rules", "--help")
    assert "examples:" in helped.stdout and "exit status" in helped.stdout
