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


# Digits of other scripts a card number can be written in: ASCII,
# full-width, Arabic-Indic, Devanagari.
DIGIT_SCRIPTS = [0x30, 0xFF10, 0x660, 0x966]


def ascii_digits(text):
    """The digits of `text`, of any script, as ASCII."""
    import unicodedata

    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


class PropertiesOverTheWholeBody(unittest.TestCase):
    """Property-based: many random bodies, each with a card number written
    some way somewhere, generated from a fixed seed (reproducible)."""

    CASES = 400

    def written(self, rng, digits):
        script = rng.choice(DIGIT_SCRIPTS)
        sep = rng.choice(["", " ", "-", ".", "_", "/", " - ", "\u3000", "\u00a0"])
        chars = [chr(script + int(d)) for d in digits]
        groups, rest = [], chars
        while rest:
            size = rng.randint(1, 5)
            groups.append("".join(rest[:size]))
            rest = rest[size:]
        return sep.join(groups), groups

    def placed(self, rng, value, groups):
        """A body with `value` somewhere: a key, a string, a number, a
        list (the groups spread over it), nested a few levels down."""
        where = rng.choice(["key", "string", "number", "list", "nested"])
        if where == "key":
            inner = {value: "x"}
        elif where == "string":
            inner = value
        elif where == "number":
            inner = int("9" + ascii_digits(value))
        elif where == "list":
            inner = list(groups)
        else:
            inner = {"a": [{"b": value}]}
        for _ in range(rng.randint(0, 3)):
            inner = rng.choice([{"meta": inner}, [inner]])
        return {"transaction_id": "t-1", "amount": 5, rng.choice(["note", "meta", "x"]): inner}

    def test_a_card_number_anywhere_however_written_is_refused_and_never_shown(self):
        rng = random.Random(5454)
        for _ in range(self.CASES):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(13, 19)))
            value, groups = self.written(rng, digits)
            body = self.placed(rng, value, groups)
            with self.assertLogs(level=logging.INFO) as logs:
                out = handler.handler({"body": json.dumps(body, ensure_ascii=rng.random() < 0.5)}, None)
            self.assertEqual(out["statusCode"], 400, (body, out))
            shown = out["body"] + "\n".join(logs.output)
            self.assertNotIn(value, shown)
            self.assertNotIn(digits[:8], ascii_digits(json.loads(out["body"])["error"]) + ascii_digits(shown))

    def test_no_field_name_is_echoed(self):
        rng = random.Random(7)
        for _ in range(100):
            name = "".join(rng.choice("abcdefghij") for _ in range(8))
            out = call({"transaction_id": "t", "amount": 1, name: "1" * 13})
            self.assertEqual(out["statusCode"], 400)
            self.assertNotIn(name, out["body"])

    def test_no_body_however_nested_or_broken_raises(self):
        bodies = [
            "[" * 100000,
            "{\"a\":" * 5000 + "1" + "}" * 5000,
            json.dumps(json.loads("[" * 500 + "]" * 500)),
            "\ud800",
            "null",
            "",
            "1e999999",
        ]
        for body in bodies:
            out = handler.handler({"body": body}, None)
            self.assertEqual(out["statusCode"], 400, body[:40])
        deep = {"transaction_id": "t", "amount": 1}
        node = deep
        for _ in range(3000):
            node["n"] = {}
            node = node["n"]
        out = handler.handler(deep, None)
        self.assertIn(out["statusCode"], (200, 400))

    def test_a_formatted_log_line_is_masked_as_a_whole(self):
        pan = "4111 1111 1111 1111"
        with self.assertLogs(level=logging.INFO) as logs:
            logging.getLogger().info("card %s%s", pan[:9], pan[9:])
        self.assertNotIn("4111 1111 1111 1111", "\n".join(logs.output))
        self.assertIn("****1111", "\n".join(logs.output))
        # Any handler carrying the filter masks records from other loggers.
        import io

        stream = io.StringIO()
        h = logging.StreamHandler(stream)
        h.addFilter(handler.MaskingFilter())
        other = logging.getLogger("payments.other")
        other.addHandler(h)
        other.warning("card %s", "\uff14\uff11\uff11\uff11" * 4)
        other.removeHandler(h)
        self.assertNotIn("\uff14\uff11\uff11\uff11" * 2, stream.getvalue())


if __name__ == "__main__":
    unittest.main()
