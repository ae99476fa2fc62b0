"""A word-level tokenizer for the closed vocabulary of the toy world, English and Chinese.

English is split into words and punctuation; Chinese into words by greedy longest match over the
lexicon (falling back to single characters). decode(encode(s)) == s for every generated caption and
question: English tokens are joined with a space except before punctuation, Chinese tokens without spaces.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import torch

from .segment import is_cjk as _is_cjk
from .segment import split_words

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<cls>")
N_SPECIAL = len(SPECIALS)  # ids below this are special tokens; words start here
_PUNCT_NO_SPACE = set(".,?!:;")


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
    def tokenize(self, text: str) -> list[str]:
        """Split text into tokens: ASCII words, punctuation, Chinese words (greedy longest match)."""
        return split_words(text, self.lexicon, self.max_word)

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
