"""template.yaml passes cfn-lint (CloudFormation and SAM rules)."""

from __future__ import annotations

from cfnlint.api import lint_file

from crm_local.template import TEMPLATE


def test_cfn_lint_finds_nothing() -> None:
    # Given the SAM template as committed
    # When cfn-lint checks it with its default rules (errors and warnings)
    matches = lint_file(TEMPLATE)
    # Then it reports nothing
    assert [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches] == []
