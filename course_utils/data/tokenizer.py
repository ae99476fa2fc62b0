"""A word-level tokenizer for the closed vocabulary of the toy world, English and Chinese.

English is split into words and punctuation; Chinese into words by greedy longest match over the
lexicon (falling back to single characters). decode(encode(s)) == s for every generated caption and
question: English tokens are joined with a space except before punctuation, Chinese tokens without spaces.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

import torch

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<cls>")
_EN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
_PUNCT_NO_SPACE = set(".,?!:;")
_RUNS = re.compile("[\u2e80-\U0010ffff]+|[^\u2e80-\U0010ffff]+")      # alternating CJK / other runs


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80          # CJK characters and full-width punctuation


class Tokenizer:
    """Closed-vocabulary tokenizer. Special ids: pad 0, bos 1, eos 2, unk 3, mask 4, cls 5."""

    pad_id, bos_id, eos_id, unk_id, mask_id, cls_id = range(6)

    def __init__(self, tokens: Iterable[str]):
        self.itos = list(SPECIALS) + sorted(set(tokens) - set(SPECIALS))
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.lexicon = {t for t in self.itos if t not in SPECIALS and any(_is_cjk(c) for c in t)}
        self.max_word = max((len(t) for t in self.lexicon), default=1)

    # --- vocabulary -------------------------------------------------------------------------------
    @classmethod
    def for_world(cls) -> "Tokenizer":
        """The vocabulary of everything the caption and question generators write, in both languages."""
        from .vocabulary import world_tokens
        return cls(world_tokens())

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size})"

    # --- text <-> tokens --------------------------------------------------------------------------
    def _segment_zh(self, text: str) -> list[str]:
        out, i = [], 0
        while i < len(text):
            for n in range(min(self.max_word, len(text) - i), 0, -1):
                if text[i:i + n] in self.lexicon or n == 1:
                    out.append(text[i:i + n])
                    i += n
                    break
        return out

    def tokenize(self, text: str) -> list[str]:
        """Split text into tokens: ASCII words, punctuation, Chinese words (greedy longest match)."""
        if not isinstance(text, str):
            raise ValueError(f"text {text!r} is not a string")
        out = []
        for run in _RUNS.findall(text):
            out += self._segment_zh(run) if _is_cjk(run[0]) else _EN.findall(run)
        return out

    def encode(self, text: str, add_special: bool = True) -> list[int]:
        """Token ids of text, with <bos> ... <eos> around them when add_special."""
        ids = [self.stoi.get(t, self.unk_id) for t in self.tokenize(text)]
        return [self.bos_id, *ids, self.eos_id] if add_special else ids

    def decode(self, ids: Iterable[int], skip_special: bool = True) -> str:
        """Text of token ids (a list or a 1-D tensor); stops at nothing, drops specials when skip_special."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        text, prev = [], None
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"token id {i} is outside the vocabulary 0..{len(self.itos) - 1}")
            if skip_special and i < len(SPECIALS) and i != self.unk_id:
                continue
            t = self.itos[i]
            if prev is not None and not _is_cjk(t[0]) and t not in _PUNCT_NO_SPACE and not _is_cjk(prev[-1]):
                text.append(" ")
            text.append(t)
            prev = t
        return "".join(text)

    # --- batches ----------------------------------------------------------------------------------
    def batch(self, texts: Sequence[str], max_len: Optional[int] = None, add_special: bool = True) -> torch.Tensor:
        """LongTensor (B, T) right-padded with pad_id; T = longest text or max_len (longer texts are cut,
        keeping <eos> as the last token)."""
        if isinstance(texts, str):
            raise ValueError("batch expects a list of strings, got a single string")
        seqs = [self.encode(t, add_special) for t in texts]
        T = max((len(s) for s in seqs), default=0) if max_len is None else int(max_len)
        if T < 1:
            raise ValueError(f"max_len {max_len!r} must be >= 1")
        out = torch.full((len(seqs), T), self.pad_id, dtype=torch.long)
        for b, s in enumerate(seqs):
            if len(s) > T:
                s = s[:T - 1] + [self.eos_id] if add_special else s[:T]
            out[b, :len(s)] = torch.tensor(s, dtype=torch.long)
        return out

    def attention_mask(self, ids: torch.Tensor) -> torch.Tensor:
        """Bool mask (B, T): True at real tokens, False at padding."""
        return ids != self.pad_id

    def decode_batch(self, ids: torch.Tensor, skip_special: bool = True) -> list[str]:
        """Decode each row of (B, T) ids; a row ends at its first <eos>."""
        out = []
        for row in ids.tolist():
            if self.eos_id in row:
                row = row[:row.index(self.eos_id)]
            out.append(self.decode(row, skip_special))
        return out
