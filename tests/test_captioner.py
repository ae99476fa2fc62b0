"""Specifications of course_utils.nn.captioner and decoding.beam_search: teacher forcing equals step-by-step
decoding for both decoders, the attention is a distribution over the 16 cells, the doubly stochastic term is the
formula, our decoder layer equals PyTorch's, and beam search finds what greedy misses, handles <eos>, normalizes by
length and refuses a beam size below 1."""
import math

import pytest
import torch

from course_utils.data.tokenizer import Tokenizer
from course_utils.nn.captioner import Captioner, CaptionerConfig, load_torch_decoder_layer_
from course_utils.nn.decoding import beam_search, greedy_decode

V = 40
BOS, EOS, PAD = Tokenizer.bos_id, Tokenizer.eos_id, Tokenizer.pad_id


def small(decoder: str) -> Captioner:
    torch.manual_seed(0)
    return Captioner(CaptionerConfig(V, decoder=decoder, width=8, dim=32, embed_dim=16, attn_dim=16, layers=2,
                                     heads=2, max_len=10, dropout=0.0)).eval()


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(3, 3, 32, 32, generator=g)
    tokens = torch.tensor([[BOS, 7, 8, 9, EOS, PAD], [BOS, 10, EOS, PAD, PAD, PAD], [BOS, 11, 12, 13, 14, EOS]])
    return images, tokens, torch.tensor([0, 1, 0])


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_teacher_forcing_equals_step_by_step_decoding(decoder, batch):
    model = small(decoder)
    images, tokens, lang = batch
    logits, alpha = model(images, tokens, lang)  # (3, 5, V), (3, 5, 16)
    state = model.start(images, lang)
    for t in range(1, tokens.size(1)):
        logp, step_alpha, state = model.step(tokens[:, :t], state)
        assert torch.allclose(logp, logits[:, t - 1].log_softmax(-1), atol=1e-5)
        assert torch.allclose(step_alpha, alpha[:, t - 1], atol=1e-6)
    assert alpha.shape == (3, 5, 16) and torch.allclose(alpha.sum(-1), torch.ones(3, 5), atol=1e-6)


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_words_never_see_later_words(decoder, batch):
    model = small(decoder)
    images, tokens, lang = batch
    changed = tokens.clone()
    changed[2, 4] = 20
    a, b = model(images, tokens, lang)[0], model(images, changed, lang)[0]
    assert torch.allclose(a[2, :4], b[2, :4], atol=1e-6) and not torch.allclose(a[2, 4], b[2, 4], atol=1e-4)


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_the_image_and_the_language_change_the_words(decoder, batch):
    model = small(decoder)
    images, tokens, lang = batch
    base = model(images, tokens, lang)[0]
    assert not torch.allclose(base, model(torch.rand_like(images), tokens, lang)[0], atol=1e-4)
    assert not torch.allclose(base, model(images, tokens, 1 - lang)[0], atol=1e-4)


def test_lstm_loss_is_cross_entropy_plus_the_doubly_stochastic_term(batch):
    model = small("lstm")
    images, tokens, lang = batch
    loss, logs = model.loss(images, tokens, lang)
    logits, alpha = model(images, tokens, lang)
    target = tokens[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, ignore_index=PAD)
    ds = 0.0
    for b in range(3):
        n_words = int((target[b] != PAD).sum())
        tau = n_words / 16  # each cell's share of the words
        ds += sum((tau - alpha[b, :n_words, i].sum()) ** 2 for i in range(16))
    ds = model.cfg.ds_lambda * ds / 3
    assert math.isclose(loss.item(), (ce + ds).item(), rel_tol=1e-5) and math.isclose(logs["ds"], ds.item(),
                                                                                        rel_tol=1e-5)


def test_transformer_loss_is_cross_entropy(batch):
    model = small("transformer")
    images, tokens, lang = batch
    logits, _ = model(images, tokens, lang)
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], ignore_index=PAD)
    assert math.isclose(model.loss(images, tokens, lang)[0].item(), ce.item(), rel_tol=1e-5)


def test_decoder_block_equals_torch_transformer_decoder_layer():
    torch.manual_seed(0)
    model = small("transformer")
    block = model.decoder.blocks[0]
    layer = torch.nn.TransformerDecoderLayer(32, 2, 64, dropout=0.0, activation="gelu", batch_first=True,
                                             norm_first=True).eval()
    load_torch_decoder_layer_(block, layer)
    x, memory = torch.randn(2, 7, 32), torch.randn(2, 16, 32)
    ref = layer(x, memory, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(7), tgt_is_causal=True)
    assert torch.allclose(block(x, context=memory), ref, atol=1e-5)


# ----------------------------------------------------------------------------- beam search on a hand-made model

def markov_step(table: dict):
    """A next-word model that depends on the last word only: table[last] = {word: p}."""
    def step(tokens, state):
        logp = torch.full((len(tokens), V), -1e9)
        for r, last in enumerate(tokens[:, -1].tolist()):
            for w, p in table.get(last, {PAD: 1.0}).items():
                logp[r, w] = math.log(p)
        return logp, torch.full((len(tokens), 4), 0.25), state
    return step


# Greedy takes 7 (0.6) then 10 (0.55): 0.33; the best sentence is 8 9 <eos> with 0.4 · 1.0 · 1.0.
TRAP = {BOS: {7: 0.6, 8: 0.4}, 7: {10: 0.55, 11: 0.45}, 10: {EOS: 1.0}, 11: {EOS: 1.0}, 8: {9: 1.0}, 9: {EOS: 1.0}}


def run(table, beam_size, length_penalty=0.0, max_len=8):
    state = {"x": torch.zeros(1, 1)}
    return beam_search(markov_step(table), state, 1, beam_size=beam_size, bos_id=BOS, eos_id=EOS, pad_id=PAD,
                       max_len=max_len, length_penalty=length_penalty)


def test_beam_search_finds_the_sentence_greedy_misses():
    assert run(TRAP, 1)["tokens"][0, :4].tolist() == [BOS, 7, 10, EOS]
    best = run(TRAP, 2)
    assert best["tokens"][0, :4].tolist() == [BOS, 8, 9, EOS] and math.isclose(best["score"].item(), math.log(0.4),
                                                                                 rel_tol=1e-6)


def test_finished_hypotheses_keep_their_score_and_are_padded():
    out = run({BOS: {EOS: 0.5, 7: 0.5}, 7: {8: 0.9, EOS: 0.1}, 8: {9: 0.9, EOS: 0.1}, 9: {EOS: 1.0}}, 3)
    row = out["tokens"][0].tolist()
    assert row[row.index(EOS) + 1:] == [PAD] * (len(row) - row.index(EOS) - 1)
    assert out["attention"].shape == (1, len(row) - 1, 4)


def test_length_normalization_prefers_the_longer_caption():
    # "<eos>" now: p = 0.3 (1 word); 7 8 9 <eos>: 0.7 · 0.9 · 0.9 = 0.567 over 4 words.
    table = {BOS: {EOS: 0.3, 7: 0.7}, 7: {8: 0.9, EOS: 0.1}, 8: {9: 0.9, EOS: 0.1}, 9: {EOS: 1.0}}
    table[BOS] = {EOS: 0.6, 7: 0.4}  # raw log-probability: 0.6 > 0.4 · 0.81 = 0.324
    assert run(table, 3, length_penalty=0.0)["tokens"][0, 1].item() == EOS
    assert run(table, 3, length_penalty=1.0)["tokens"][0, 1].item() == 7  # log(0.324) / 4 > log(0.6) / 1


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_beam_size_one_is_greedy_decoding(decoder, batch):
    model = small(decoder)
    images, _, lang = batch
    out = model.generate(images, lang, beam_size=1)

    def next_logits(tokens):
        state = model.start(images, lang)
        for t in range(1, tokens.size(1) + 1):
            logp, _, state = model.step(tokens[:, :t], state)
        return logp[:, None]

    ref = greedy_decode(next_logits, 3, bos_id=BOS, eos_id=EOS, pad_id=PAD, max_len=10)
    assert torch.equal(out["tokens"], ref)


@pytest.mark.parametrize("decoder", ["lstm", "transformer"])
def test_a_wider_beam_never_scores_lower(decoder, batch):
    model = small(decoder)
    images, _, lang = batch
    s1, s4 = (model.generate(images, lang, beam_size=k, length_penalty=0.0)["score"] for k in (1, 4))
    assert bool((s4 >= s1 - 1e-6).all())


@pytest.mark.parametrize("beam_size", [0, -1, 1.5])
def test_beam_size_below_one_is_refused(beam_size, batch):
    images, _, lang = batch
    with pytest.raises(ValueError, match="beam size"):
        small("lstm").generate(images, lang, beam_size=beam_size)


def test_bad_input_is_refused(batch):
    images, tokens, lang = batch
    model = small("lstm")
    with pytest.raises(ValueError, match="unknown decoder"):
        CaptionerConfig(V, decoder="gru")
    with pytest.raises(ValueError, match="language ids"):
        model(images, tokens, torch.tensor([0, 2, 0]))
    with pytest.raises(ValueError, match="lang must be"):
        model(images, tokens, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="grid"):
        model(torch.rand(3, 3, 24, 24), tokens, lang)
    with pytest.raises(ValueError, match="longer than max_len"):
        model(images, torch.ones(3, 11, dtype=torch.long), lang)


def test_without_attention_the_lstm_reads_the_mean_of_the_cells(batch):
    torch.manual_seed(0)
    cfg = CaptionerConfig(V, width=8, dim=32, embed_dim=16, attn_dim=16, max_len=10, dropout=0.0, attention=False)
    model = Captioner(cfg).eval()
    images, tokens, lang = batch
    _, alpha = model(images, tokens, lang)
    assert torch.allclose(alpha, torch.full_like(alpha, 1 / 16))
    a = model.encoder(images)
    shuffled = model.decoder.start(a[:, torch.randperm(16)], lang)  # the cells' order no longer matters
    ref = model.decoder.step(tokens[:, 0], model.decoder.start(a, lang), first=True)[0]
    assert torch.allclose(model.decoder.step(tokens[:, 0], shuffled, first=True)[0], ref, atol=1e-5)
