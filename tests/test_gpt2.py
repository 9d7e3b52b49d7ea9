"""partita's GPT-2 against Hugging Face's: same weights, same outputs and files."""

import pytest
import torch

from partita.errors import PartitaError
from partita.gpt2 import GPT2Config, GPT2LMHeadModel, GPT2Model

transformers = pytest.importorskip("transformers")

SIZES = dict(vocab_size=97, n_positions=64, n_embd=32, n_layer=3, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
             attn_pdrop=0.0, activation_function="gelu_pytorch_tanh")


@pytest.fixture(params=[False, True], ids=["plain", "inverse-layer-scaling"])
def pair(request):
    torch.manual_seed(0)
    ours = GPT2LMHeadModel(GPT2Config(**SIZES, scale_attn_by_inverse_layer_idx=request.param)).eval()
    theirs = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        **SIZES, scale_attn_by_inverse_layer_idx=request.param)).eval()
    missing, unexpected = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and all(k.endswith(".attn.bias") or k == "lm_head.weight" for k in missing)
    return ours, theirs


def test_logits_equal_transformers(pair):
    ours, theirs = pair
    ids = torch.randint(0, 97, (2, 20))
    with torch.no_grad():
        assert torch.allclose(ours(ids).logits, theirs(ids).logits, atol=1e-5)
        # padding (right-padded rows, as the ABC model batches them) and inputs_embeds
        mask = torch.ones(2, 20, dtype=torch.long)
        mask[1, 12:] = 0
        a = ours(ids, attention_mask=mask).logits
        b = theirs(ids, attention_mask=mask).logits
        assert torch.allclose(a[0], b[0], atol=1e-5) and torch.allclose(a[1, :12], b[1, :12], atol=1e-5)
        emb = torch.randn(2, 10, 32)
        assert torch.allclose(ours.transformer(inputs_embeds=emb).last_hidden_state,
                              theirs.transformer(inputs_embeds=emb).last_hidden_state, atol=1e-5)


def test_cached_steps_equal_a_full_pass(pair):
    ours, theirs = pair
    ids = torch.randint(0, 97, (1, 16))
    with torch.no_grad():
        full = theirs(ids).logits
        out = ours(ids[:, :9], use_cache=True)
        steps = [out.logits]
        cache = out.past_key_values
        for t, end in ((9, 10), (10, 11), (11, 14), (14, 16)):   # single tokens and runs (a forced prompt)
            out = ours(ids[:, t:end], cache=cache, use_cache=True)
            cache = out.past_key_values
            steps.append(out.logits)
        assert torch.allclose(torch.cat(steps, dim=1), full, atol=1e-5)


def test_loss_with_labels_equals_transformers(pair):
    ours, theirs = pair
    ids = torch.randint(0, 97, (2, 12))
    labels = ids.clone()
    labels[:, :3] = -100
    assert torch.allclose(ours(ids, labels=labels).loss, theirs(ids, labels=labels).loss, atol=1e-5)


def test_files_round_trip_both_ways(tmp_path, pair):
    ours, theirs = pair
    ids = torch.randint(0, 97, (1, 8))
    theirs.save_pretrained(tmp_path / "hf")                  # transformers' files open in ours
    loaded = GPT2LMHeadModel.from_pretrained(tmp_path / "hf")
    ours.save_pretrained(tmp_path / "ours")                  # and ours in transformers
    back = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path / "ours"))
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, theirs(ids).logits, atol=1e-5)
        assert torch.allclose(back(ids).logits, ours(ids).logits, atol=1e-5)
    assert loaded.lm_head.weight is loaded.transformer.wte.weight      # still tied


def test_bad_folders_are_one_line_errors(tmp_path):
    with pytest.raises(PartitaError, match="no GPT-2 checkpoint"):
        GPT2LMHeadModel.from_pretrained(tmp_path)
    GPT2LMHeadModel(GPT2Config(**SIZES)).save_pretrained(tmp_path)
    (tmp_path / "config.json").write_text((tmp_path / "config.json").read_text().replace('"n_layer": 3', '"n_layer": 4'))
    with pytest.raises(PartitaError, match="do not fit"):
        GPT2LMHeadModel.from_pretrained(tmp_path)


def test_too_long_a_sequence_is_refused():
    body = GPT2Model(GPT2Config(**SIZES))
    with pytest.raises(PartitaError, match="positions"):
        body(torch.zeros(1, 65, dtype=torch.long))
