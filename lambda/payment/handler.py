"""Example payment-processing function deployed by paysec.

Validates a payment request and answers with a clear status. It never logs
or returns a card number (PCI DSS 3.3, 3.4, 10.2): a field holding 13 or
more digits in all (a PAN is 13-19, whatever separates them) is refused
without being echoed, and any run of 13 or more digits that still reaches a
log line or a response, whatever the separators between them (spaces,
dashes, dots, underscores, slashes, several at once) and however long, is
masked to its last four digits.
"""

import json
import logging
import os
import re
from decimal import Decimal, InvalidOperation

LOGGER = logging.getLogger()
LOGGER.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

CURRENCIES = {"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF"}
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# 13 or more digits, each separated from the next by up to three characters
# that are neither digits nor letters.
PAN_LIKE = re.compile(r"(?<![0-9])[0-9](?:[^0-9A-Za-z]{0,3}[0-9]){12,}(?![0-9])")
# A field with this many digits in all could hold a card number.
MAX_DIGITS = 12
MAX_AMOUNT = Decimal("1000000")


def mask_pans(text):
    """Replaces every PAN-like digit run with ****<last four>."""

    def _mask(match):
        digits = re.sub(r"\D", "", match.group(0))
        return "****" + digits[-4:]

    return PAN_LIKE.sub(_mask, text)


def digit_count(text):
    """How many digits `text` holds, wherever they are."""
    return sum(ch.isdigit() for ch in text)


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": mask_pans(json.dumps(body)),
    }


def _error(status, message):
    return _response(status, {"error": message})


def validate(payment):
    """Returns (normalized payment, None) or (None, error message)."""
    if not isinstance(payment, dict):
        return None, "the body must be a JSON object"
    for field, value in payment.items():
        if isinstance(value, str) and digit_count(value) > MAX_DIGITS:
            return None, (
                f"{mask_pans(str(field))} must not hold more than {MAX_DIGITS} digits "
                "(it could be a card number, which this API never accepts)"
            )
    txn = payment.get("transaction_id")
    if not isinstance(txn, str) or not TRANSACTION_ID.match(txn):
        return None, "transaction_id must be 1-64 letters, digits, '-' or '_'"
    raw_amount = payment.get("amount")
    if isinstance(raw_amount, bool) or not isinstance(raw_amount, (int, float, str)):
        return None, "amount must be a number"
    try:
        amount = Decimal(str(raw_amount))
    except InvalidOperation:
        return None, "amount must be a number"
    if not amount.is_finite() or amount <= 0:
        return None, "amount must be positive"
    if amount.as_tuple().exponent < -2:
        return None, "amount must have at most two decimals"
    if amount > MAX_AMOUNT:
        return None, "amount exceeds the maximum of 1000000"
    currency = payment.get("currency", "USD")
    if not isinstance(currency, str) or currency.upper() not in CURRENCIES:
        return None, "currency must be one of " + ", ".join(sorted(CURRENCIES))
    return {"transaction_id": txn, "amount": amount, "currency": currency.upper()}, None


def handler(event, context):
    """API Gateway-style entry point: the payment is the JSON in event["body"]."""
    body = event.get("body") if isinstance(event, dict) else None
    if body is None:
        body = event
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except (ValueError, TypeError):
            LOGGER.info("rejected payment: body is not JSON")
            return _error(400, "the body is not valid JSON")
    payment, problem = validate(body)
    if problem:
        LOGGER.info("rejected payment: %s", mask_pans(problem))
        return _error(400, problem)
    LOGGER.info(
        "accepted payment %s: %s %s",
        mask_pans(payment["transaction_id"]),
        payment["amount"],
        payment["currency"],
    )
    return _response(
        200,
        {
            "status": "accepted",
            "transaction_id": payment["transaction_id"],
            "amount": str(payment["amount"]),
            "currency": payment["currency"],
        },
    )
