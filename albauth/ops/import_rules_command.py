"""`albauth import-rules FILE...`: an ALB's listeners and rules (describe-listeners /
describe-rules output, or a CloudFormation template) as an albauth configuration on stdout,
and on stderr everything albauth cannot emulate. The output is loaded by albauth's own
loader before it is printed, so it passes `albauth check-config --offline` or says why."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from albauth.config.cfn_template import CfnLoader
from albauth.config.errors import ConfigError
from albauth.config.import_rules import Imported, ImportError_
from albauth.config.import_sources import import_documents
from albauth.config.load import load_text

__all__ = ["register_import_rules"]

EXIT_FAILED = 1
EXIT_USAGE = 2

_EPILOG = """\
examples:
  aws elbv2 describe-listeners --load-balancer-arn $LB > listeners.json
  for l in $(jq -r '.Listeners[].ListenerArn' listeners.json); do
    aws elbv2 describe-rules --listener-arn $l; done | jq -s '{Rules: map(.Rules[])}' > rules.json
  albauth import-rules listeners.json rules.json > albauth.yaml
  albauth import-rules template.yaml > albauth.yaml        # CloudFormation, YAML or JSON
  albauth check-config --offline albauth.yaml              # then set the ${VAR}s it lists

Target groups become albauth.target_groups entries with a TODO URL (http://TODO-<name>:<port>):
replace it with your app's URL. Client secrets, certificates and template parameters become
${VAR} references, set from the environment when albauth loads the file.
exit status: 0 written (notes on stderr), 1 the result does not load (each problem on stderr),
2 an input that cannot be read or is none of those shapes"""


def register_import_rules(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import-rules", help="an ALB's listeners and rules (aws elbv2 describe-*, CloudFormation) "
                                            "as an albauth config on stdout",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="describe-listeners / describe-rules JSON, or a CloudFormation template; - for stdin")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        imported = import_documents([(name, _read(name)) for name in args.files])
    except ImportError_ as exc:
        print(f"albauth: import-rules: {exc}", file=sys.stderr)
        return EXIT_USAGE
    text = render(imported, args.files)
    for note in imported.notes:
        print(f"albauth: import-rules: note: {note}", file=sys.stderr)
    try:
        load_text(text, "the imported configuration", {}, notes=[])
    except ConfigError as exc:
        sys.stdout.write(text)
        for issue in exc.issues:
            print(f"albauth: import-rules: does not load yet: {issue}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(text)
    return 0


def _read(name: str) -> Any:
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            with open(name, encoding="utf-8") as fh:
                text = fh.read()
    except OSError as exc:
        raise ImportError_(f"{name}: cannot read the file: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ImportError_(f"{name}: neither JSON nor YAML ({getattr(exc, 'problem', None) or exc})") from None


def render(imported: Imported, sources: list[str]) -> str:
    """The document as YAML, after a comment saying where it came from and what to set."""
    head = [f"# albauth configuration imported by `albauth import-rules` from {', '.join(sources)}.",
            "# Replace the http://TODO-... target URLs with your apps' URLs. Variables to set:"]
    head += [f"#   {name}: {meaning}" for name, meaning in sorted(imported.variables.items())] or ["#   (none)"]
    body = yaml.safe_dump(imported.document, sort_keys=False, default_flow_style=False, width=120,
                          allow_unicode=True)
    return "\n".join(head) + "\n" + body
