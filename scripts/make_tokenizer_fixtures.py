"""Build the tokenizer fixtures used by Tests/LanguageModelsTests/TokenizerTests.swift.

Regenerate with:

    python3 scripts/make_tokenizer_fixtures.py

Nothing is downloaded. Tiny tokenizers are trained locally with the Hugging Face `tokenizers`
package on the small corpus below, then written out as `tokenizer.json` files whose structure
mimics the real files of GPT-2, RoBERTa, Llama-3, Qwen2.5, TinyLlama / Llama-2 and Mistral, plus
WordLevel tokenizers. For each fixture directory under
Tests/LanguageModelsTests/Fixtures/tokenizers/<name>/ the script writes:

- tokenizer.json (and tokenizer_config.json where the real model family has one),
- cases.json: the reference ids (with and without special tokens) and decoded texts (whole, for
  single ids and for windows of three ids, which may cut characters) computed by the `tokenizers`
  library, the vocabulary size, a sample of token <-> id pairs, and the
  BOS/EOS/PAD ids that `transformers.PreTrainedTokenizerFast` reads from tokenizer_config.json.

The WordPiece, Unigram and affixed-BPE trainers of the tokenizers library break ties in hash order, so
those fixtures differ from one regeneration to the next; each is consistent with its own cases.json.
SentencePiece (`pip install sentencepiece`) trains the Unigram models whose charsmaps exercise the
Precompiled normalizer.
"""

import base64
import json
import os
import shutil
import tempfile

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

OUTPUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "tokenizers")

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TRAINING_CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog wasn't amused, and the fox didn't care.",
    "It's a truth universally acknowledged that we'll need more tokens; they'd agree, I'm sure, you've seen it.",
    "Hello world! Hello there, world. HELLO WORLD? hello, hello, hello.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 2048 65536 3.14159 2.71828 1,000,000 2024-01-31.",
    "def tokenize(text):\n    return [word for word in text.split() if word]\n\n",
    "for (int i = 0; i < n; i++) {\n\tsum += values[i] * weights[i];\n}\n",
    "import numpy as np\nx = np.zeros((3, 4), dtype=np.float32)  # a matrix\nprint(x.shape)\n",
    "if __name__ == \"__main__\":\n    main()\n",
    "Unicode text: café, naïve, résumé, Straße, Ångström, façade, coöperate, jalapeño, São Paulo.",
    "Русский текст: привет, мир! Как дела? Ελληνικά: γειά σου κόσμε.",
    "日本語のテキストです。中文文本，我们喜欢自然语言处理。한국어 텍스트도 있습니다.",
    "Emoji: 🙂 😀 🎉 👍 🚀 ❤️ and more 🙂🙂.",
    "Whitespace   runs\tand\ttabs\n\nand newlines\r\nand  double  spaces    here.",
    "Language models predict the next token. Tokenizers split text into tokens; merges build words.",
    "Interpretability studies attention heads, residual streams, circuits and features in transformers.",
    "She said: \"Don't stop!\" He replied: 'I won't.' They're here, we're there, it'll be fine.",
    "Email me at someone@example.com or visit https://example.com/path?query=1&x=2#frag.",
    "Prices: $5.99, €10, £3.50, ¥1000; percentages 50% and 12.5%; math: a+b=c, x^2 >= 0.",
    "The year 1999 and 2000 were followed by 2001, 2002, and 2023 and 2024 and 2025.",
    "In the beginning was the word, and the word was tokenized into many little pieces.",
]

TEST_TEXTS = [
    "",
    " ",
    "\n",
    "Hello world",
    "Hello, world! How's it going? I'm fine; we'll see. They'd've known.",
    "  leading spaces and trailing   ",
    "tabs\tand\nnewlines\r\n\r\nmixed \t \n end",
    "a    b\t\t\tc\n\n\nd     ",
    "Numbers: 1234567890, 3.14159, 1e-10, 2024-01-31, 1,000,000 and 007",
    "def f(x):\n    return x**2  # square\n\nfor i in range(10):\n\tprint(f(i))\n",
    "Ünïcödé: café, naïve, résumé, Straße, ÅNGSTRÖM, ﬁne ligature",
    "decomposed cafe\u0301 versus precomposed caf\u00e9",
    "Emoji 🤖🎉👍🏽 and family 👨\u200d👩\u200d👧\u200d👦 flag 🇯🇵",
    "日本語のテキスト、中文文本，한국어 텍스트",
    "Привет мир, Γειά σου κόσμε, مرحبا بالعالم, שלום",
    "UPPER lower MiXeD CASE IT'S DON'T WE'LL I'M THEY'RE",
    "non\u00a0breaking\u3000ideographic\u2003em\u000bvt\u0085nel",
    "Zebra 🦓 snowman ☃ contour ∰ unseen ꙮ",
    "supercalifragilisticexpialidocious aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "\u0301leading combining mark and zero\u200bwidth",
    "control\u0000char and bell\u0007",
    "The quick brown fox jumps over the lazy dog.",
    "Tokenizers split text into tokens; merges build words.",
    "Привет, мир! 🙂",
    "ﬀ Ⅻ ½ ²³ ＡＢＣ",
    "trailing newline\n",
    "Say Hello, unreachable supercalifragilisticexpialidocious jumps",
    "abcΑΒΓабв123 ひらがなカタカナー漢字 🥲x a\u0301 😀 한국어a",
    "🥲 leading emoji, then ‿ text",
    "ﬁne ＡＢ ① zebra \u017a z\u0301 \u00c5 A\u030a e\u0301 ß…\u00a0x\u3000y ||| pad<pad>|word",
]


def train_bpe(pre_tokenizer, vocab_size, normalizer=None, alphabet=(), **affixes):
    """Trains a BPE model on the corpus and returns its (vocab, merges) in rank order.

    `affixes` are `continuing_subword_prefix` and `end_of_word_suffix`, given to the model and the trainer.
    """
    tokenizer = Tokenizer(models.BPE(**affixes))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=list(alphabet), show_progress=False,
                                  **affixes)
    tokenizer.train_from_iterator(TRAINING_CORPUS * 3, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    return model["vocab"], [tuple(m) for m in model["merges"]]


def train_word_level(normalizer, pre_tokenizer, special_tokens):
    tokenizer = Tokenizer(models.WordLevel(unk_token=special_tokens[0]))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.WordLevelTrainer(vocab_size=400, special_tokens=special_tokens, show_progress=False)
    tokenizer.train_from_iterator(TRAINING_CORPUS, trainer)
    return json.loads(tokenizer.to_str())["model"]["vocab"]


def added(token_id, content, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {
        "id": token_id,
        "content": content,
        "single_word": single_word,
        "lstrip": lstrip,
        "rstrip": rstrip,
        "normalized": normalized,
        "special": special,
    }


def byte_level(add_prefix_space=False, trim_offsets=True, use_regex=True):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets, "use_regex": use_regex}


def split(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def template(single, pair, special):
    """A TemplateProcessing post-processor.

    `single` lists piece names, `pair` lists (name, type_id); "A"/"B" are the sequences, anything else
    a special token; `special` maps special token content to its id.
    """

    def piece(name, type_id):
        kind = "Sequence" if name in ("A", "B") else "SpecialToken"
        return {kind: {"id": name, "type_id": type_id}}

    return {
        "type": "TemplateProcessing",
        "single": [piece(name, 0) for name in single],
        "pair": [piece(name, type_id) for name, type_id in pair],
        "special_tokens": {c: {"id": c, "ids": [i], "tokens": [c]} for c, i in special.items()},
    }


def bpe_model(vocab, merges, merges_as_strings, unk_token=None, byte_fallback=False, fuse_unk=False,
              ignore_merges=False, empty_affixes=False):
    model = {
        "type": "BPE",
        "dropout": None,
        "unk_token": unk_token,
        "continuing_subword_prefix": "" if empty_affixes else None,
        "end_of_word_suffix": "" if empty_affixes else None,
        "fuse_unk": fuse_unk,
        "byte_fallback": byte_fallback,
        "ignore_merges": ignore_merges,
        "vocab": vocab,
        "merges": [f"{a} {b}" for a, b in merges] if merges_as_strings else [list(m) for m in merges],
    }
    return model


def tokenizer_json(model, added_tokens, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None,
                   padding=None):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": padding,
        "added_tokens": added_tokens,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor,
        "decoder": decoder,
        "model": model,
    }


def special_texts(contents):
    """Texts that exercise the added tokens of one fixture."""
    first, second = contents[0], contents[min(1, len(contents) - 1)]
    texts = [
        f"{first}Hello world{second}",
        f"Say {first} and {second}  twice{second}{second} end",
        f"{first[:-1]} is not a token, nor is {second[1:]}",
        f"{first}{first}",
    ]
    for content in contents:
        texts.append(f"x {content} y{content}z  {content}\n{content}")
        texts.append(f"  {content}  spaced")
    return texts


def write_fixture(name, data, config=None, extra_texts=()):
    directory = os.path.join(OUTPUT, name)
    os.makedirs(directory)
    tokenizer_path = os.path.join(directory, "tokenizer.json")
    with open(tokenizer_path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
    if config is not None:
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=1)

    tokenizer = Tokenizer.from_file(tokenizer_path)
    contents = [token["content"] for token in data["added_tokens"]]
    cases = []
    long_text = "\n".join(TRAINING_CORPUS + TEST_TEXTS)
    for text in TEST_TEXTS + special_texts(contents) + [long_text] + list(extra_texts):
        ids = tokenizer.encode(text, add_special_tokens=True).ids
        cases.append({
            "text": text,
            "ids": ids,
            "ids_without_special_tokens": tokenizer.encode(text, add_special_tokens=False).ids,
            "decoded": tokenizer.decode(ids, skip_special_tokens=False),
            "decoded_skipping_special_tokens": tokenizer.decode(ids, skip_special_tokens=True),
            "decoded_one_by_one": [tokenizer.decode([i], skip_special_tokens=False) for i in ids[:200]],
            "decoded_windows_of_three": [
                tokenizer.decode(ids[i:i + 3], skip_special_tokens=False) for i in range(min(200, len(ids) - 2))
            ],
        })
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    sample = sorted(vocab.items(), key=lambda item: item[1])[:: max(1, len(vocab) // 40)]
    sample += [(content, vocab[content]) for content in contents]
    reference = {
        "vocabulary_size": tokenizer.get_vocab_size(with_added_tokens=True),
        "token_ids": [
            {"token": token, "id": token_id, "id_to_token": tokenizer.id_to_token(token_id)} for token, token_id in sample
        ],
        "cases": cases,
    }
    if config is not None:
        fast = PreTrainedTokenizerFast.from_pretrained(directory)
        reference["bos_token_id"] = fast.bos_token_id
        reference["eos_token_id"] = fast.eos_token_id
        reference["pad_token_id"] = fast.pad_token_id
    with open(os.path.join(directory, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{name}: vocabulary {reference['vocabulary_size']}, {len(cases)} cases")


def make_byte_level_fixtures():
    alphabet = pre_tokenizers.ByteLevel.alphabet()

    vocab, merges = train_bpe(pre_tokenizers.ByteLevel(add_prefix_space=False), 1000, alphabet=alphabet)
    n = len(vocab)
    gpt2 = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, empty_affixes=True),
        [added(n, "<|endoftext|>", normalized=True), added(n + 1, "[NAME]", special=False, single_word=True)],
        pre_tokenizer=byte_level(),
        post_processor=byte_level(add_prefix_space=True, trim_offsets=False),
        decoder=byte_level(add_prefix_space=True),
    )
    write_fixture("gpt2", gpt2, {
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "add_prefix_space": False, "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer",
    })

    roberta_vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    roberta_vocab.update({token: token_id + 4 for token, token_id in vocab.items()})
    roberta_vocab["<mask>"] = len(roberta_vocab)
    roberta_vocab["<sep>"] = len(roberta_vocab)
    roberta = tokenizer_json(
        bpe_model(roberta_vocab, merges, merges_as_strings=True, empty_affixes=True),
        [added(0, "<s>", normalized=True), added(1, "<pad>", normalized=True), added(2, "</s>", normalized=True),
         added(3, "<unk>", normalized=True), added(roberta_vocab["<mask>"], "<mask>", lstrip=True),
         added(roberta_vocab["<sep>"], "<sep>", rstrip=True)],
        pre_tokenizer=byte_level(add_prefix_space=True),
        post_processor={"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
                        "add_prefix_space": True},
        decoder=byte_level(add_prefix_space=True),
    )
    write_fixture("roberta", roberta, {
        "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>",
        "sep_token": "</s>", "cls_token": "<s>", "add_prefix_space": True, "tokenizer_class": "RobertaTokenizer",
    })

    vocab, merges = train_bpe(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), "isolated"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        1000, alphabet=alphabet,
    )
    # Whole words present in the vocabulary but unreachable through merges: only `ignore_merges` finds them.
    for word in ["Ġsupercalifragilisticexpialidocious", "Ġunreachable", "Ġjumps", "ĠHello"]:
        vocab.setdefault(word, len(vocab))
    n = len(vocab)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    bos = {"<|begin_of_text|>": n}
    llama3 = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=False, ignore_merges=True),
        [added(n + i, content) for i, content in enumerate(specials)],
        pre_tokenizer={"type": "Sequence", "pretokenizers": [split(LLAMA3_PATTERN), byte_level(use_regex=False)]},
        post_processor={"type": "Sequence", "processors": [
            byte_level(add_prefix_space=True, trim_offsets=False),
            template(["<|begin_of_text|>", "A"],
                     [("<|begin_of_text|>", 0), ("A", 0), ("<|begin_of_text|>", 1), ("B", 1)], bos),
        ]},
        decoder=byte_level(add_prefix_space=True),
    )
    write_fixture("llama3", llama3, {
        "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "clean_up_tokenization_spaces": True,
        "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "PreTrainedTokenizerFast",
    })

    vocab, merges = train_bpe(
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), "isolated"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        1000, normalizer=normalizers.NFC(), alphabet=alphabet,
    )
    n = len(vocab)
    qwen2 = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, empty_affixes=True),
        [added(n, "<|endoftext|>"), added(n + 1, "<|im_start|>"), added(n + 2, "<|im_end|>"),
         added(n + 3, "<tool_call>", special=False), added(n + 4, "\u0438\u0306од", special=False, normalized=True)],
        normalizer={"type": "NFC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            split(QWEN2_PATTERN), byte_level(trim_offsets=False, use_regex=False)]},
        post_processor=byte_level(trim_offsets=False, use_regex=False),
        decoder=byte_level(trim_offsets=False, use_regex=False),
    )
    write_fixture("qwen2", qwen2, {
        "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "errors": "replace",
        "model_max_length": 131072, "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
    })


def make_sentencepiece_fixtures():
    specials = {"<unk>": 0, "<s>": 1, "</s>": 2}
    trained, merges = train_bpe(
        pre_tokenizers.Metaspace(prepend_scheme="always", split=True), 600,
    )
    vocab = dict(specials)
    vocab.update({f"<0x{byte:02X}>": 3 + byte for byte in range(256)})
    for token in trained:
        vocab.setdefault(token, len(vocab))
    n = len(vocab)
    special_added = [added(i, content) for content, i in specials.items()]
    strip_decoder = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    bos_template = template(["<s>", "A"], [("<s>", 0), ("A", 0), ("<s>", 1), ("B", 1)], {"<s>": 1})
    llama_config = {
        "add_bos_token": True, "add_eos_token": False,
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "pad_token": None,
        "unk_token": {"__type": "AddedToken", "content": "<unk>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False},
        "legacy": False, "model_max_length": 2048, "tokenizer_class": "LlamaTokenizer",
        "clean_up_tokenization_spaces": False,
    }

    llama2 = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>", byte_fallback=True, fuse_unk=True),
        special_added + [added(n, "<x>", special=False, normalized=True)],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        post_processor=bos_template,
        decoder=strip_decoder,
    )
    write_fixture("llama2", llama2, llama_config)

    mistral = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=False, unk_token="<unk>", byte_fallback=True, fuse_unk=True),
        special_added + [added(n, "[INST]"), added(n + 1, "[/INST]")],
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        post_processor=bos_template,
        decoder=strip_decoder,
    )
    mistral_config = dict(llama_config, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>")
    write_fixture("mistral", mistral, mistral_config)

    metaspace_split = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>", fuse_unk=True),
        special_added,
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        post_processor=template(["A", "</s>"], [("A", 0), ("</s>", 0), ("B", 1), ("</s>", 1)], {"</s>": 2}),
        decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    )
    write_fixture("metaspace-split", metaspace_split)

    metaspace_never = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>"),
        special_added,
        normalizer={"type": "Strip", "strip_left": True, "strip_right": False},
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": True},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": True},
            {"type": "Strip", "content": " ", "start": 0, "stop": 1}]},
    )
    write_fixture("metaspace-never", metaspace_never)

    # Not a real model family: exercises the Split behaviors and patterns the fixtures above do not use.
    split_behaviors = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>", byte_fallback=True),
        special_added,
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[0-9]"}, "behavior": "Contiguous", "invert": False},
            {"type": "Punctuation", "behavior": "MergedWithPrevious"},
            {"type": "Split", "pattern": {"Regex": "[A-Z]"}, "behavior": "MergedWithNext", "invert": True},
            {"type": "Digits", "individual_digits": False}]},
        decoder={"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
    )
    write_fixture("split-behaviors", split_behaviors)

    unicode_scripts = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>", byte_fallback=True),
        special_added,
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "UnicodeScripts"},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}]},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
    )
    write_fixture("unicode-scripts", unicode_scripts)

    # Regular expressions that Oniguruma (Ruby syntax) reads differently from ICU: line anchors, \h as a
    # hexadecimal digit, (?m) letting "." match newlines.
    oniguruma = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True, unk_token="<unk>", byte_fallback=True),
        special_added,
        normalizer={"type": "Replace", "pattern": {"Regex": r"^[ \t]+|[ \t]+$"}, "content": ""},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": r"^\p{L}+"}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"\h{2,}|[^\h\s]+$"}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"(?m:e.+?n)|(?i)Q"}, "behavior": "MergedWithNext",
             "invert": False},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": False}]},
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
    )
    write_fixture("split-oniguruma", oniguruma)


def make_word_level_fixtures():
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]"]
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    vocab = train_word_level(normalizer, pre_tokenizers.Whitespace(), specials)
    word_level = tokenizer_json(
        {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
        [added(vocab[content], content) for content in specials],
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        pre_tokenizer={"type": "Whitespace"},
        post_processor=template(["[CLS]", "A", "[SEP]"],
                                [("[CLS]", 0), ("A", 0), ("[SEP]", 0), ("B", 1), ("[SEP]", 1)],
                                {"[CLS]": vocab["[CLS]"], "[SEP]": vocab["[SEP]"]}),
        padding={"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": None,
                 "pad_id": vocab["[PAD]"], "pad_type_id": 0, "pad_token": "[PAD]"},
    )
    write_fixture("wordlevel", word_level)

    bert_normalizer = [
        {"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "NFD"}, {"type": "StripAccents"},
        {"type": "NFKD"}, {"type": "Lowercase"}, {"type": "Replace", "pattern": {"Regex": "[’‘`]"}, "content": "'"},
    ]
    bert_pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(), pre_tokenizers.Digits(individual_digits=True)])
    bert_vocab = train_word_level(
        normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()]),
        bert_pre_tokenizer, specials,
    )
    word_level_bert = tokenizer_json(
        {"type": "WordLevel", "vocab": bert_vocab, "unk_token": "[UNK]"},
        [added(bert_vocab[content], content) for content in specials],
        normalizer={"type": "Sequence", "normalizers": bert_normalizer},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
            {"type": "Digits", "individual_digits": True}]},
        post_processor={"type": "BertProcessing", "sep": ["[SEP]", bert_vocab["[SEP]"]],
                        "cls": ["[CLS]", bert_vocab["[CLS]"]]},
    )
    write_fixture("wordlevel-bert", word_level_bert, {
        "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]", "unk_token": "[UNK]",
        "do_lower_case": True, "tokenizer_class": "BertTokenizer",
    })


def make_word_piece_fixtures():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(TRAINING_CORPUS * 3, trainers.WordPieceTrainer(
        vocab_size=500, special_tokens=specials, show_progress=False))
    vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
    n = len(vocab)
    bert = tokenizer_json(
        {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
         "max_input_chars_per_word": 24, "vocab": vocab},
        [added(vocab["[PAD]"], "[PAD]"), added(vocab["[UNK]"], "[UNK]"), added(vocab["[CLS]"], "[CLS]"),
         added(vocab["[SEP]"], "[SEP]"), added(vocab["[MASK]"], "[MASK]", lstrip=True),
         added(n, "<NAME>", special=False, single_word=True, rstrip=True),
         added(n + 1, "Café", special=False, normalized=True)],
        normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                    "strip_accents": None, "lowercase": True},
        pre_tokenizer={"type": "BertPreTokenizer"},
        post_processor=template(["[CLS]", "A", "[SEP]"], [("[CLS]", 0), ("A", 0), ("[SEP]", 0), ("B", 1), ("[SEP]", 1)],
                                {"[CLS]": vocab["[CLS]"], "[SEP]": vocab["[SEP]"]}),
        decoder={"type": "WordPiece", "prefix": "##", "cleanup": True},
    )
    write_fixture("wordpiece-bert", bert)

    # Cased, accents kept apart from the stripping, no CJK spacing, a "@@" prefix and no decoder clean-up.
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="@@"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=True, handle_chinese_chars=False)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)])
    tokenizer.train_from_iterator(TRAINING_CORPUS * 3, trainers.WordPieceTrainer(
        vocab_size=500, special_tokens=specials, continuing_subword_prefix="@@", show_progress=False))
    vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
    cased = tokenizer_json(
        {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "@@",
         "max_input_chars_per_word": 100, "vocab": vocab},
        [added(vocab[content], content) for content in specials],
        normalizer={"type": "BertNormalizer", "clean_text": False, "handle_chinese_chars": False,
                    "strip_accents": True, "lowercase": False},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Whitespace"}, {"type": "Digits", "individual_digits": True}]},
        post_processor={"type": "BertProcessing", "sep": ["[SEP]", vocab["[SEP]"]], "cls": ["[CLS]", vocab["[CLS]"]]},
        decoder={"type": "WordPiece", "prefix": "@@", "cleanup": False},
    )
    write_fixture("wordpiece-cased", cased)


def sentencepiece_unigram(vocab_size, byte_fallback, rules=None, character_coverage=1.0):
    """Trains a SentencePiece unigram model on the corpus; returns its (pieces with scores, unk id, charsmap).

    `rules` (source scalars, target scalars) replace SentencePiece's built-in nmt_nfkc normalization rules.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as directory:
        corpus = os.path.join(directory, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(TRAINING_CORPUS * 3))
        options = {}
        if rules is not None:
            options["normalization_rule_tsv"] = os.path.join(directory, "rules.tsv")
            with open(options["normalization_rule_tsv"], "w", encoding="utf-8") as f:
                for source, target in rules:
                    f.write(" ".join(f"{ord(c):X}" for c in source) + "\t" + " ".join(f"{ord(c):X}" for c in target)
                            + "\n")
        else:
            options["normalization_rule_name"] = "nmt_nfkc"
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=os.path.join(directory, "m"), vocab_size=vocab_size, model_type="unigram",
            character_coverage=character_coverage, byte_fallback=byte_fallback, hard_vocab_limit=False, minloglevel=2, **options)
        model = sentencepiece_model_pb2.ModelProto()
        with open(os.path.join(directory, "m.model"), "rb") as f:
            model.ParseFromString(f.read())
    pieces = [[piece.piece, piece.score] for piece in model.pieces]
    unk_id = next(i for i, piece in enumerate(model.pieces) if piece.type == piece.UNKNOWN)
    charsmap = base64.b64encode(model.normalizer_spec.precompiled_charsmap).decode("ascii")
    return pieces, unk_id, charsmap


# Small custom normalization rules for SentencePiece: a ligature, full-width letters, a circled digit,
# spaces, a decomposed accent written as one grapheme, and "z" whose rule also rewrites "z" + U+0301 (the
# tokenizers library replaces a whole grapheme by the rewrite of its shortest prefix in the table).
SMALL_RULES = [("ﬁ", "fi"), ("Ａ", "A"), ("Ｂ", "B"), ("①", "1"), ("\u3000", " "), ("\u00a0", " "), ("…", "..."),
               ("e\u0301", "é"), ("Å", "A\u030a"), ("z", "Z"), ("z\u0301", "Ź"), ("ß", "ss")]


def make_metaspace_first_fixture():
    """Metaspace `prepend_scheme: "first"` after normalizers that delete the first character (Nmt a control
    character, Strip a leading space, Replace a pattern with nothing): the tokenizers library then adds no "▁",
    since the normalized text no longer starts at original offset 0. Regenerate this fixture alone with
    `python3 -c "import sys; sys.path.insert(0, 'scripts'); import make_tokenizer_fixtures as m; m.make_metaspace_first_fixture()"`
    after removing its directory."""
    words = ["[UNK]", "<s>", "▁", "a", "▁a", "b", "▁b", "ab", "▁ab", "the", "▁the"]
    vocab = {word: i for i, word in enumerate(words)}
    metaspace_first = tokenizer_json(
        {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
        [added(vocab["[UNK]"], "[UNK]"), added(vocab["<s>"], "<s>")],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Nmt"}, {"type": "Strip", "strip_left": True, "strip_right": False},
            {"type": "Replace", "pattern": {"String": "c"}, "content": ""}]},
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
    )
    write_fixture("metaspace-first-normalized", metaspace_first, extra_texts=[
        "a", "  a", "\x07a", "ca", "\x07 a", "\x07\x07a b", "a\x07b", "cca the", " \x07 a", "<s>a", "\x0cab b", "\x07", "c",
    ])


def make_unigram_fixtures():
    pieces, unk_id, charsmap = sentencepiece_unigram(300, byte_fallback=False)
    specials = {piece: i for i, (piece, _) in enumerate(pieces) if piece in ("<unk>", "<s>", "</s>")}
    unigram = tokenizer_json(
        {"type": "Unigram", "unk_id": unk_id, "vocab": pieces, "byte_fallback": False},
        [added(i, content) for content, i in specials.items()],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        post_processor=template(["A", "</s>"], [("A", 0), ("</s>", 0), ("B", 1), ("</s>", 1)],
                                {"</s>": specials["</s>"]}),
        decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
    )
    write_fixture("unigram-nmt-nfkc", unigram)

    pieces, unk_id, charsmap = sentencepiece_unigram(
        600, byte_fallback=True, rules=SMALL_RULES, character_coverage=0.995)
    specials = {piece: i for i, (piece, _) in enumerate(pieces) if piece in ("<unk>", "<s>", "</s>")}
    n = len(pieces)
    # Two ids for one special token, as TemplateProcessing allows.
    post_processor = template(["<s>", "A"], [("<s>", 0), ("A", 0), ("<s>", 1), ("B", 1)], {})
    post_processor["special_tokens"] = {"<s>": {"id": "<s>", "ids": [specials["<s>"], n], "tokens": ["<s>", "<x>"]}}
    byte_fallback = tokenizer_json(
        {"type": "Unigram", "unk_id": unk_id, "vocab": pieces, "byte_fallback": True},
        [added(i, content) for content, i in specials.items()] + [added(n, "<x>", lstrip=True, rstrip=True)],
        normalizer={"type": "Sequence", "normalizers": [
            {"type": "Nmt"}, {"type": "Precompiled", "precompiled_charsmap": charsmap}]},
        pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        post_processor=post_processor,
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    )
    write_fixture("unigram-byte-fallback", byte_fallback)

    # Trained by the tokenizers library itself, no unknown id use (every scalar of the texts is a piece or
    # unknown is fused), UnicodeScripts and Punctuation splitting, a CTC decoder.
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tokenizer.train_from_iterator(TRAINING_CORPUS * 3, trainers.UnigramTrainer(
        vocab_size=300, special_tokens=["<pad>", "<unk>", "|"], unk_token="<unk>", show_progress=False))
    model = json.loads(tokenizer.to_str())["model"]
    ctc = tokenizer_json(
        {"type": "Unigram", "unk_id": model["unk_id"], "vocab": model["vocab"], "byte_fallback": False},
        [added(0, "<pad>"), added(1, "<unk>")],
        normalizer={"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "StripAccents"},
                                                         {"type": "Lowercase"}]},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"}]},
        decoder={"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": True},
    )
    write_fixture("unigram-ctc", ctc)


def make_component_fixtures():
    """BPE tokenizers whose normalizers, pre-tokenizers and decoders are the ones the model fixtures lack."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    normalizer_steps = [
        {"type": "Nmt"}, {"type": "NFKD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
        {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
        {"type": "Strip", "strip_left": True, "strip_right": False}, {"type": "Prepend", "prepend": " "},
        {"type": "ByteLevel"}]
    normalizer = normalizers.Sequence([
        normalizers.Nmt(), normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(),
        normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip(left=True, right=False), normalizers.Prepend(" "),
        normalizers.ByteLevel()])
    pre_tokenizer = pre_tokenizers.Split("Ġ", "merged_with_next")
    vocab, merges = train_bpe(pre_tokenizer, 600, normalizer=normalizer, alphabet=alphabet)
    byte_level_normalizer = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True),
        [added(len(vocab), "<|endoftext|>")],
        normalizer={"type": "Sequence", "normalizers": normalizer_steps},
        pre_tokenizer={"type": "Split", "pattern": {"String": "Ġ"}, "behavior": "MergedWithNext", "invert": False},
        decoder=byte_level(),
    )
    write_fixture("normalizers-byte-level", byte_level_normalizer)

    # Original BPE: "##" continuing-subword prefix in the merges, decoded by the WordPiece decoder.
    vocab, merges = train_bpe(pre_tokenizers.Whitespace(), 500, continuing_subword_prefix="##")
    vocab.setdefault("[UNK]", len(vocab))
    prefixed = tokenizer_json(
        dict(bpe_model(vocab, merges, merges_as_strings=True, unk_token="[UNK]", fuse_unk=False),
             continuing_subword_prefix="##"),
        [added(vocab["[UNK]"], "[UNK]")],
        normalizer={"type": "NFC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "CharDelimiterSplit", "delimiter": " "}, {"type": "Punctuation", "behavior": "MergedWithNext"},
            {"type": "Digits", "individual_digits": False}, {"type": "Whitespace"}]},
        decoder={"type": "WordPiece", "prefix": "##", "cleanup": True},
    )
    write_fixture("bpe-continuing-prefix", prefixed)

    # Original BPE with a "</w>" end-of-word suffix and the BPEDecoder.
    vocab, merges = train_bpe(pre_tokenizers.WhitespaceSplit(), 500, end_of_word_suffix="</w>")
    vocab.setdefault("<unk>", len(vocab))
    suffixed = tokenizer_json(
        dict(bpe_model(vocab, merges, merges_as_strings=False, unk_token="<unk>", fuse_unk=True),
             end_of_word_suffix="</w>"),
        [added(vocab["<unk>"], "<unk>")],
        normalizer={"type": "NFKC"},
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "Punctuation", "behavior": "MergedWithPrevious"}, {"type": "FixedLength", "length": 7}]},
        decoder={"type": "BPEDecoder", "suffix": "</w>"},
    )
    write_fixture("bpe-end-of-word-suffix", suffixed)

    # Byte-level BPE without the GPT-2 regular expression, with a prefix space, Punctuation (Removed) and
    # Split (Contiguous, inverted) before it.
    vocab, merges = train_bpe(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False), 600,
                              alphabet=alphabet)
    no_regex = tokenizer_json(
        bpe_model(vocab, merges, merges_as_strings=True),
        [added(len(vocab), "<|endoftext|>")],
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Punctuation", "behavior": "Removed"},
            {"type": "Split", "pattern": {"Regex": r"\p{L}+"}, "behavior": "Contiguous", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]},
        post_processor={"type": "Sequence", "processors": [
            byte_level(), {"type": "RobertaProcessing", "sep": ["<|endoftext|>", len(vocab)],
                           "cls": ["<|endoftext|>", len(vocab)], "trim_offsets": True, "add_prefix_space": True}]},
        decoder=byte_level(),
    )
    write_fixture("byte-level-no-regex", no_regex)


# Large blocks whose scalars all normalize alike: one in 37 is enough.
SAMPLED_RANGES = [(0xAC00, 0xD7A3), (0x3400, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF)]


def make_normalization_fixture():
    """Fixtures/tokenizer-normalization.json: normalizer outputs of the tokenizers library over the scalars
    it changes.

    For each normalizer the inputs are the scalars (up to U+2FFFF) whose output differs from the input, in
    chunks of 160 (Hangul syllables and CJK ideographs sampled), plus combining sequences and scalars newer
    than the library's Unicode 9.0 tables that Python's `unicodedata` decomposes (the library leaves those
    alone). A byte-level vocabulary lets the test read the normalized text back through encode and decode.
    """
    import unicodedata

    forms = {
        "NFC": {"type": "NFC"}, "NFD": {"type": "NFD"}, "NFKC": {"type": "NFKC"}, "NFKD": {"type": "NFKD"},
        "Lowercase": {"type": "Lowercase"}, "StripAccents": {"type": "StripAccents"}, "Nmt": {"type": "Nmt"},
        "BertNormalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True},
    }
    sequences = ["e\u0301 a\u0308\u0301 A\u030a\u0327 \u1100\u1161\u11a8 q\u0323\u0307 \u0915\u093c \u05d0\u05b7\u05bc",
                 "\u00c5\u212b \ufb01 \u2460 \u00bd \u0130 \u03a3\u03c3\u03c2 \u1e9e \u0149 \u2126 \uff21"]
    nfkd = normalizers.NFKD()
    newer = [chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF
             and nfkd.normalize_str(chr(c)) == chr(c) and unicodedata.normalize("NFKD", chr(c)) != chr(c)]
    cases = []
    for name, normalizer in forms.items():
        library = Tokenizer.from_str(json.dumps(tokenizer_json(
            {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}, [], normalizer=normalizer))).normalizer
        changed = [chr(c) for c in range(0x30000) if not 0xD800 <= c <= 0xDFFF
                   and (c % 37 == 0 or not any(first <= c <= last for first, last in SAMPLED_RANGES))
                   and library.normalize_str(chr(c)) != chr(c)]
        inputs = ["".join(changed[i:i + 160]) for i in range(0, len(changed), 160)]
        inputs += ["".join(newer) + " a\u0301" + "".join(newer), *sequences]
        cases += [{"normalizer": normalizer, "input": text, "output": library.normalize_str(text)} for text in inputs]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    reference = {"vocab": {scalar: i for i, scalar in enumerate(alphabet)}, "cases": cases}
    with open(os.path.join(OUTPUT, "..", "tokenizer-normalization.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False, separators=(",", ":"))
    print(f"normalization: {len(cases)} cases")


def main():
    shutil.rmtree(OUTPUT, ignore_errors=True)
    os.makedirs(OUTPUT)
    make_byte_level_fixtures()
    make_sentencepiece_fixtures()
    make_word_level_fixtures()
    make_word_piece_fixtures()
    make_unigram_fixtures()
    make_metaspace_first_fixture()
    make_component_fixtures()
    make_normalization_fixture()


if __name__ == "__main__":
    main()
