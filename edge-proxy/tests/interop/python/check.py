"""Evaluates flags on a live edge through OpenFeature's official Python SDK and OFREP
provider, with no Togglerino code, and prints what the application would see.

Usage: EDGE_URL=http://127.0.0.1:8090 SDK_KEY=sdk_... python check.py
"""

import json
import os

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

key = os.environ["SDK_KEY"]
api.set_provider(
    OFREPProvider(os.environ["EDGE_URL"], headers_factory=lambda: {"Authorization": f"Bearer {key}"})
)
client = api.get_client()
context = EvaluationContext(targeting_key="user-1", attributes={"plan": "free"})


def pick(details):
    error = details.error_code
    return {
        "value": details.value,
        "variant": details.variant,
        "reason": str(details.reason.value if hasattr(details.reason, "value") else details.reason),
        "errorCode": None if error is None else str(error.value if hasattr(error, "value") else error),
    }


print(
    json.dumps(
        {
            "boolean": pick(client.get_boolean_details("checkout", True, context)),
            "string": pick(client.get_string_details("banner", "fallback", context)),
            "number": pick(client.get_float_details("ratio", 0.0, context)),
            "object": pick(client.get_object_details("theme", {}, context)),
            "missing": pick(client.get_boolean_details("no-such-flag", True, context)),
        }
    )
)
