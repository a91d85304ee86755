"""Run by the translator's own interpreter (see translated.py): a SAM template as JSON on stdin, the
CloudFormation template `sam deploy` would send on stdout. No AWS account: the region and account are fixed,
and the stack's own managed policies need no look-up."""

import json
import sys

from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names its managed policies by Ref (or full ARN); none is looked up by name."""

    def load(self) -> dict[str, str]:
        return {}


def main() -> None:
    document = json.load(sys.stdin)
    pseudo = {"AWS::Region": "eu-west-2", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    json.dump(transform(document, pseudo, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main()
