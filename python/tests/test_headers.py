"""start_response's checks: nothing invalid is ever turned into head bytes."""

import unittest

from cask_worker.headers import HOP_BY_HOP, content_length, head_bytes


class HeadBytesTests(unittest.TestCase):
    def test_valid_head_is_nul_joined_latin1(self):
        head = head_bytes("200 OK", [("Content-Type", "text/plain"), ("X-Latin", "caf\xe9\tok")])
        self.assertEqual(head, b"200 OK\0Content-Type\0text/plain\0X-Latin\0caf\xe9\tok")
        self.assertEqual(head_bytes("204 ", []), b"204 ")
        self.assertEqual(head_bytes("599 Custom reason, with text", []), b"599 Custom reason, with text")
        self.assertEqual(head_bytes("200 OK", [["X-List", "pair"]]), b"200 OK\0X-List\0pair")

    def test_invalid_statuses(self):
        for status in ["OK", "200", "200OK", "20 OK", "2000 OK", "099 Low", "abc OK",
                       "200 OK\r\nX: y", "200 OK\n", "200 \0", "200 \u2603", b"200 OK", 200, None,
                       "\u0662\u0660\u0660 OK"]:
            with self.subTest(status=status):
                with self.assertRaises((TypeError, ValueError)):
                    head_bytes(status, [])

    def test_invalid_headers(self):
        for headers in [
            [("X-Split", "a\r\nSet-Cookie: x")],
            [("X-Lf", "a\nb")],
            [("X-Cr", "a\rb")],
            [("X-Nul", "a\0b")],
            [("X-Ctl", "a\x01b")],
            [("X-Del", "a\x7fb")],
            [("Bad Name", "x")],
            [("Bad:Name", "x")],
            [("", "x")],
            [("X-Snow\u2603", "x")],
            [("X-Value", "\u2603")],
            [(b"X-Bytes", "x")],
            [("X-Bytes", b"x")],
            [("X-Int", 5)],
            [("X-Three", "a", "b")],
            ["X-NotAPair"],
            (("X-Tuple", "list required"),),
            None,
        ]:
            with self.subTest(headers=headers):
                with self.assertRaises((TypeError, ValueError)):
                    head_bytes("200 OK", headers)

    def test_hop_by_hop_headers_are_refused_in_any_case(self):
        names = ["Connection", "keep-alive", "Proxy-Authenticate", "PROXY-AUTHORIZATION", "TE",
                 "Trailer", "Trailers", "Transfer-Encoding", "Upgrade"]
        self.assertEqual({n.lower() for n in names}, set(HOP_BY_HOP))
        for name in names:
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as caught:
                    head_bytes("200 OK", [(name, "x")])
                self.assertIn("Hop-by-hop", str(caught.exception))

    def test_errors_say_what_is_wrong(self):
        with self.assertRaises(ValueError) as caught:
            head_bytes("200 OK", [("X-Split", "a\r\nb")])
        self.assertIn("control character", str(caught.exception))
        self.assertIn("X-Split", str(caught.exception))
        with self.assertRaises(ValueError) as caught:
            head_bytes("200 OK", [("X-Name", "caf\xe9 \u2603")])
        self.assertIn("latin-1", str(caught.exception))

    def test_a_cached_name_or_status_is_still_checked_with_its_value(self):
        head_bytes("200 OK", [("X-Cached", "fine")])
        with self.assertRaises(ValueError):
            head_bytes("200 OK", [("X-Cached", "not\nfine")])

    def test_content_length(self):
        self.assertEqual(content_length([("content-length", " 42 ")]), 42)
        self.assertIsNone(content_length([("X", "1")]))
        self.assertEqual(content_length([("Content-Length", "4 2")]), -1)
        self.assertEqual(content_length([("Content-Length", "-1")]), -1)
        self.assertEqual(content_length([("Content-Length", "\u0664")]), -1)


if __name__ == "__main__":
    unittest.main()
