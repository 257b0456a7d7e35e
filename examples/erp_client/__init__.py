"""A reference ERP-side client of the fulfillment API: copy it, keep the patterns.

See README.md in this directory: each pattern and the contract rule it follows.
"""

from fulfillment_erp_client.client import ErpClient
from fulfillment_erp_client.orders import AmendResult, Refused
from fulfillment_erp_client.retries import GaveUp, RetryPolicy
from fulfillment_erp_client.webhooks import BadSignature, Received, WebhookReceiver, verify

__all__ = [
    "AmendResult",
    "BadSignature",
    "ErpClient",
    "GaveUp",
    "Received",
    "Refused",
    "RetryPolicy",
    "WebhookReceiver",
    "verify",
]
