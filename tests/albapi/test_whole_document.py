"""One document with every ALB field albauth applies from issue 16, in describe-*/CloudFormation
shapes (string priorities, string attribute values), loads unchanged and lands in the model."""

from __future__ import annotations

import textwrap
from pathlib import Path

from albauth.config.load import load_text
from albauth.config.model import ForwardAction, HostHeaderCondition, PathPatternCondition, Rewrite


def test_every_field_loads(tls_files: tuple[str, str], tmp_path: Path) -> None:
    trust = tmp_path / "ca.pem"
    trust.write_text(Path(tls_files[0]).read_text())
    doc = textwrap.dedent(f"""\
        albauth:
          admin_listen: off
          target_groups:
            blue:
              targets: [http://127.0.0.1:3001, http://127.0.0.1:3002]
              TargetGroupAttributes:
                - {{Key: load_balancing.algorithm.type, Value: least_outstanding_requests}}
                - {{Key: stickiness.enabled, Value: "true"}}
                - {{Key: stickiness.type, Value: lb_cookie}}
                - {{Key: stickiness.lb_cookie.duration_seconds, Value: "86400"}}
            green: {{targets: [http://127.0.0.1:3003]}}
        LoadBalancerAttributes:
          - {{Key: routing.http.xff_header_processing.mode, Value: append}}
          - {{Key: routing.http.xff_client_port.enabled, Value: "true"}}
          - {{Key: routing.http.preserve_host_header.enabled, Value: "false"}}
          - {{Key: routing.http.x_amzn_tls_version_and_cipher_suite.enabled, Value: "true"}}
          - {{Key: routing.http.drop_invalid_header_fields.enabled, Value: "true"}}
          - {{Key: idle_timeout.timeout_seconds, Value: "120"}}
          - {{Key: client_keep_alive.seconds, Value: "3600"}}
        listeners:
          - Protocol: HTTPS
            Port: 8443
            SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
            albauth: {{address: 127.0.0.1, certificate_file: {tls_files[0]}, key_file: {tls_files[1]},
                      trust_store_file: {trust}}}
            MutualAuthentication:
              Mode: verify
              TrustStoreArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:truststore/ts/1"
              IgnoreClientCertificateExpiry: false
              AdvertiseTrustStoreCaNames: "off"
            ListenerAttributes:
              - {{Key: routing.http.response.server.enabled, Value: "false"}}
              - Key: routing.http.response.strict_transport_security.header_value
                Value: "max-age=31536000; includeSubDomains; preload;"
              - {{Key: routing.http.response.x_frame_options.header_value, Value: DENY}}
              - {{Key: routing.http.request.x_amzn_tls_version.header_name, Value: X-TLS-Version}}
            Rules:
              - Priority: "10"
                Conditions:
                  - {{Field: host-header, HostHeaderConfig: {{RegexValues: ["^mywebsite-(.+)\\\\.com$"]}}}}
                  - {{Field: path-pattern, RegexValues: ["^/dp/"]}}
                Transforms:
                  - Type: host-header-rewrite
                    HostHeaderRewriteConfig:
                      Rewrites: [{{Regex: "^mywebsite-(.+).com$", Replace: "internal.dev.$1.myweb.com"}}]
                  - Type: url-rewrite
                    UrlRewriteConfig:
                      Rewrites: [{{Regex: "^/dp/([A-Za-z0-9]+)/?$", Replace: "/product.php?id=$1"}}]
                Actions:
                  - Type: forward
                    ForwardConfig:
                      TargetGroups: [{{TargetGroupArn: blue, Weight: 80}}, {{TargetGroupArn: green, Weight: 20}}]
                      TargetGroupStickinessConfig: {{Enabled: true, DurationSeconds: 3600}}
              - {{Priority: default, IsDefault: true, Conditions: [],
                 Actions: [{{Type: forward, TargetGroupArn: blue}}]}}
        """)
    settings = load_text(doc, "everything.yaml", {})
    proxy = settings.proxy
    assert (proxy.xff_mode, proxy.xff_client_port, proxy.preserve_host_header, proxy.tls_version_and_cipher_headers,
            proxy.drop_invalid_header_fields, proxy.idle_timeout, proxy.client_keep_alive) == (
        "append", True, False, True, True, 120.0, 3600.0)
    blue = settings.target_groups["blue"]
    assert (blue.algorithm, blue.stickiness_seconds) == ("least_outstanding_requests", 86400)
    listener = settings.listeners[0]
    assert listener.mutual_tls is not None and listener.mutual_tls.trust_store_file == str(trust)
    assert listener.attributes.server_header is False
    assert dict(listener.attributes.response_headers)["X-Frame-Options"] == "DENY"
    assert listener.attributes.request_header_name("X-Amzn-Tls-Version") == "X-TLS-Version"
    rule = listener.rules[0]
    host, path = rule.conditions
    assert isinstance(host, HostHeaderCondition) and isinstance(path, PathPatternCondition)
    assert host.regex_values == ("^mywebsite-(.+)\\.com$",) and path.regex_values == ("^/dp/",)
    assert rule.host_header_rewrite == Rewrite("^mywebsite-(.+).com$", "internal.dev.$1.myweb.com")
    assert rule.url_rewrite == Rewrite("^/dp/([A-Za-z0-9]+)/?$", "/product.php?id=$1")
    assert isinstance(rule.action, ForwardAction) and rule.action.group_stickiness_seconds == 3600
