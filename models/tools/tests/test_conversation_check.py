"""The long-conversation check scores a turn the way evaluate.py scores a case."""
from __future__ import annotations

import unittest

from ..conversation_check import right


class Right(unittest.TestCase):
    def test_a_refer_box_counts_when_it_overlaps_the_target_and_words_must_match_exactly(self):
        size = (400, 300)
        turn = ("refer", "the red circle", "{<10><20><30><40>}")
        self.assertTrue(right(turn, "{<11><20><30><41>}", size))
        self.assertFalse(right(turn, "{<50><20><70><40>}", size))
        self.assertFalse(right(turn, "red circle", size))
        self.assertTrue(right(("vqa", "how many objects are there?", "3"), " 3 ", size))
        self.assertFalse(right(("identify", "what is this {<1><2><3><4>}", "red circle"), "red square", size))


if __name__ == "__main__":
    unittest.main()
