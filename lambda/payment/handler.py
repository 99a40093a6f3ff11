"""Example payment-processing function deployed by paysec.

Validates a payment request and answers with a clear status. It never logs
or returns a card number (PCI DSS 3.3, 3.4, 10.2):

- the whole decoded body is walked (keys, strings, numbers, nested objects
  and lists, without recursion): a top-level field holding more than 12
  digits in all, however written (ASCII or any other script's digits,
  full-width included, with any separators, spread over a nested list), is
  refused, and the refusal names no field;
- every log line is masked as a whole once formatted (a logging filter), and
  every response body too: any run of 13 or more digits, whatever separates
  them, shows only its last four;
- any failure to read the body (bad JSON, nesting deep enough to exhaust
  the parser) is a 400 answered here, so the event never reaches the
  dead-letter queue with a card number in it.
"""

import json
import logging
import os
import re
from decimal import Decimal, InvalidOperation

CURRENCIES = {"USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF"}
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# 13 or more digits (of any script), each separated from the next by up to
# three characters that are neither digits nor letters.
PAN_LIKE = re.compile(r"(?<!\d)\d(?:(?:[^\w]|_){0,3}\d){12,}(?!\d)")
# A field with this many digits in all could hold a card number.
MAX_DIGITS = 12
MAX_AMOUNT = Decimal("1000000")


def mask_pans(text):
    """Replaces every PAN-like digit run with ****<last four>."""

    def _mask(match):
        digits = re.sub(r"\D", "", match.group(0))
        return "****" + digits[-4:]

    return PAN_LIKE.sub(_mask, text)


class MaskingFilter(logging.Filter):
    """Masks a log record's whole formatted message, arguments included."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format
            message = str(record.msg)
        record.msg = mask_pans(message)
        record.args = ()
        return True


LOGGER = logging.getLogger()
LOGGER.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
_MASK = MaskingFilter()
LOGGER.addFilter(_MASK)
# The runtime's handlers too: a record logged by another module's logger
# reaches them without passing the root logger's own filters.
for _h in LOGGER.handlers:
    _h.addFilter(_MASK)


def digit_count(text):
    """How many digits `text` holds, of any script."""
    return sum(ch.isdigit() for ch in text)


def field_digits(value):
    """Digits in a field's whole value: every key, string and number in it,
    nested objects and lists included (walked without recursion)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                total += digit_count(str(key))
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            continue
        else:
            total += digit_count(str(item))
    return total


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
        if digit_count(str(field)) + field_digits(value) > MAX_DIGITS:
            # The field is not named: its name could be the card number.
            return None, (
                f"a field must not hold more than {MAX_DIGITS} digits "
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
    try:
        if isinstance(body, str):
            body = json.loads(body)
        payment, problem = validate(body)
    except Exception:  # noqa: BLE001 - whatever the body does, answer here
        # Bad JSON, a body nested deep enough to exhaust the parser: a 400,
        # never an exception that would send the event (and whatever it
        # holds) to the dead-letter queue.
        LOGGER.info("rejected payment: the body could not be read")
        return _error(400, "the body is not valid JSON")
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
