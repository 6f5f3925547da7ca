"""Write Tests/LanguageModelsTests/Fixtures/strip_accents.json: the scalars the tokenizers library drops as marks.

    python3 scripts/make_strip_accents_reference.py

`BertNormalizer(strip_accents=True)` and `StripAccents` use different mark tables in the library (Unicode 8.0
non-spacing marks and Unicode 9.0 marks), both older than Swift's. Each list holds [first, last] ranges of the
scalars s for which the normalizer turns "a" + s + "b" into "ab" (found by scripts/sweep_family_configs.py
--tokenizers: U+08D7 and U+08DE, marks added in Unicode 9.0, were dropped by interp and kept by the library).
"""

import json
import os

from tokenizers.normalizers import BertNormalizer, StripAccents

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "strip_accents.json")


def ranges(normalizer):
    dropped = [cp for cp in range(0x110000)
               if not 0xD800 <= cp <= 0xDFFF and normalizer.normalize_str("a" + chr(cp) + "b") == "ab"]
    out = []
    for cp in dropped:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    bert = BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    reference = {"bert_strip_accents": ranges(bert), "strip_accents": ranges(StripAccents())}
    with open(OUT, "w") as handle:
        json.dump(reference, handle, separators=(",", ":"))


if __name__ == "__main__":
    main()
