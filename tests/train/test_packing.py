"""Packed rows: no attention across documents, labels and positions as documented."""

import torch

from lmforge.models.io import load_model
from lmforge.train.objectives import CausalLM
from lmforge.train.packing import IGNORE, Example, pack_stream, pack_whole


def _doc_loss(model, ids: list[int]) -> float:
    rows = pack_stream([Example(ids, [True] * len(ids))], len(ids), 0)
    loss_sum, metrics = CausalLM().loss(model, rows.select([0]))
    return float(loss_sum.detach()), metrics["weight"]


def test_packed_documents_have_the_same_loss_as_alone(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir)
    model.eval()
    docs = [
        tokenizer("the town of kamori lies")["input_ids"],
        tokenizer("카모리는 벨덴 지방의 마을이다")["input_ids"],
        [5, 6, 7, 8, 9],
    ]
    alone = [_doc_loss(model, d) for d in docs]
    seq_len = sum(map(len, docs)) + 3
    packed = pack_stream(
        [Example(d, [True] * len(d)) for d in docs], seq_len, tokenizer.pad_token_id
    )
    assert len(packed) == 1
    with torch.no_grad():
        logits = model(
            input_ids=packed.input_ids, position_ids=packed.position_ids, use_cache=False
        ).logits
    logp = torch.log_softmax(logits[0, :-1].float(), -1)
    targets = packed.labels[0, 1:]
    start = 0
    for doc, (loss_alone, weight) in zip(docs, alone, strict=True):
        span = range(start, start + len(doc) - 1)  # positions predicting this doc's tokens
        packed_loss = -sum(float(logp[i, targets[i]]) for i in span)
        assert all(targets[i] != IGNORE for i in span)
        assert weight == len(doc) - 1
        assert abs(packed_loss - loss_alone) < 1e-4
        start += len(doc)
    # the first token of each later document is never predicted from the previous one
    assert targets[len(docs[0]) - 1] == IGNORE


def test_positions_restart_and_padding_is_untrained():
    rows = pack_stream([Example([1, 2, 3], [True] * 3), Example([4, 5], [True] * 2)], 8, 0)
    assert rows.position_ids[0].tolist() == [0, 1, 2, 0, 1, 0, 1, 2]
    assert rows.labels[0].tolist() == [IGNORE, 2, 3, IGNORE, 5, IGNORE, IGNORE, IGNORE]
    assert rows.input_ids[0].tolist() == [1, 2, 3, 4, 5, 0, 0, 0]


def test_long_documents_continue_in_the_next_row():
    rows = pack_stream([Example(list(range(1, 11)), [True] * 10)], 4, 0)
    assert rows.input_ids.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 0, 0]]


def test_whole_packing_never_splits_an_example():
    examples = [Example([1] * 5, [False, False, True, True, True]), Example([2] * 4, [True] * 4)]
    rows = pack_whole(examples, 8, 0)
    assert rows.input_ids.tolist() == [[1] * 5 + [0] * 3, [2] * 4 + [0] * 4]
    assert rows.labels[0].tolist() == [IGNORE, IGNORE, 1, 1, 1, IGNORE, IGNORE, IGNORE]
