"""Tests of the payment handler, run with the local Python (scripts/test.sh)."""

import json
import logging
import random
import unittest

import handler


def call(body):
    return handler.handler({"body": json.dumps(body)}, None)


class ValidPayments(unittest.TestCase):
    def test_the_example_payment_is_accepted(self):
        out = handler.handler({"body": '{"transaction_id": "test-001", "amount": 99.99}'}, None)
        self.assertEqual(out["statusCode"], 200)
        body = json.loads(out["body"])
        self.assertEqual(body, {"status": "accepted", "transaction_id": "test-001", "amount": "99.99", "currency": "USD"})

    def test_currency_is_normalized(self):
        body = json.loads(call({"transaction_id": "t1", "amount": "10", "currency": "eur"})["body"])
        self.assertEqual(body["currency"], "EUR")


class InvalidPayments(unittest.TestCase):
    def assert_rejected(self, payload, fragment):
        out = call(payload)
        self.assertEqual(out["statusCode"], 400, out)
        self.assertIn(fragment, json.loads(out["body"])["error"])

    def test_negative_zero_and_non_numeric_amounts(self):
        self.assert_rejected({"transaction_id": "t", "amount": -5}, "positive")
        self.assert_rejected({"transaction_id": "t", "amount": 0}, "positive")
        self.assert_rejected({"transaction_id": "t", "amount": "ten"}, "number")
        self.assert_rejected({"transaction_id": "t", "amount": True}, "number")
        self.assert_rejected({"transaction_id": "t", "amount": "NaN"}, "positive")

    def test_more_than_two_decimals(self):
        self.assert_rejected({"transaction_id": "t", "amount": 1.234}, "two decimals")

    def test_missing_or_bad_transaction_id(self):
        self.assert_rejected({"amount": 1}, "transaction_id")
        self.assert_rejected({"transaction_id": "a b", "amount": 1}, "transaction_id")

    def test_unknown_currency(self):
        self.assert_rejected({"transaction_id": "t", "amount": 1, "currency": "XXX"}, "currency")

    def test_body_not_json(self):
        out = handler.handler({"body": "{nope"}, None)
        self.assertEqual(out["statusCode"], 400)


class CardNumbersNeverLeak(unittest.TestCase):
    PAN = "4111 1111 1111 1111"

    SEPARATORS = ["", " ", "-", ".", "_", "/", "  ", " - ", "..", "\t"]

    def test_masking(self):
        self.assertEqual(handler.mask_pans("card 4111111111111111 ok"), "card ****1111 ok")
        self.assertEqual(handler.mask_pans("card 4111-1111-1111-1111"), "card ****1111")
        self.assertEqual(handler.mask_pans("amount 12345"), "amount 12345")

    def test_every_separator_and_length_is_masked(self):
        # Property: for any digits of length 13 to 24, split into groups of
        # any size by any separator, the masked text holds no run of the
        # digits longer than four and ends with the last four.
        rng = random.Random(4111)
        for length in range(13, 25):
            for sep in self.SEPARATORS:
                for _ in range(20):
                    digits = "".join(rng.choice("0123456789") for _ in range(length))
                    groups, rest = [], digits
                    while rest:
                        size = rng.randint(1, 6)
                        groups.append(rest[:size])
                        rest = rest[size:]
                    text = "pay " + sep.join(groups) + " now"
                    masked = handler.mask_pans(text)
                    self.assertEqual(masked, "pay ****" + digits[-4:] + " now", (text, masked))

    def test_short_numbers_and_words_are_left_alone(self):
        for text in ["order 123456789012", "id abc-123-def-456", "4111 1111 1111", "tx 1234-5678"]:
            self.assertEqual(handler.mask_pans(text), text)

    def test_a_field_with_thirteen_digits_in_all_is_refused_unechoed(self):
        rng = random.Random(1111)
        for sep in self.SEPARATORS + ["x", "ab"]:
            for length in range(13, 22):
                digits = "".join(rng.choice("0123456789") for _ in range(length))
                value = sep.join(digits[i:i + 4] for i in range(0, length, 4))
                for field in ["transaction_id", "currency", "note"]:
                    payload = {"transaction_id": "t-1", "amount": 5, field: value}
                    with self.assertLogs(level=logging.INFO) as logs:
                        out = call(payload)
                    self.assertEqual(out["statusCode"], 400, (field, value, out))
                    self.assertIn("more than 12 digits", json.loads(out["body"])["error"])
                    for leak in [digits, value, digits[:8]]:
                        self.assertNotIn(leak, out["body"])
                        self.assertNotIn(leak, "\n".join(logs.output))

    def test_underscores_do_not_smuggle_a_pan_through_the_transaction_id(self):
        out = call({"transaction_id": "4111_1111_1111_1111", "amount": 5})
        self.assertEqual(out["statusCode"], 400)
        self.assertNotIn("4111_1111", out["body"])

    def test_a_pan_in_the_transaction_id_is_neither_logged_nor_returned(self):
        with self.assertLogs(level=logging.INFO) as logs:
            out = call({"transaction_id": "4111111111111111", "amount": 5})
        self.assertEqual(out["statusCode"], 400)
        self.assertNotIn("4111111111111111", out["body"])
        self.assertNotIn("4111111111111111", "\n".join(logs.output))

    def test_a_pan_in_a_rejected_field_is_not_echoed(self):
        out = call({"transaction_id": "t", "amount": 1, "currency": self.PAN})
        self.assertNotIn("1111 1111", out["body"])


if __name__ == "__main__":
    unittest.main()
