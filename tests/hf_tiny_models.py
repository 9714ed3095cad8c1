"""Models of the hf profile's four architectures, built on the fly: nothing is downloaded.

``write_model_set`` saves each blueprint (a transformers config, its model class and a
tokenizer) into its own folder exactly as ``save_pretrained`` lays out a hub checkpoint, so
the real loading code reads it with ``local_files_only=True``. ``tiny_blueprints`` are a
few hundred kB each; benchmarks/hf_profile.py writes full-size ones with the same function.

A blueprint can fix the output bias of the classification layer (``bias``: label -> logit),
so a tiny random model still answers predictably ("threat" for every line, say) and tests
can check the label mapping through real inference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MNLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
SENTIMENT_LABELS = {0: "negative", 1: "neutral", 2: "positive"}
EMOTION_LABELS = {0: "anger", 1: "disgust", 2: "fear", 3: "joy", 4: "neutral", 5: "sadness", 6: "surprise"}
TOXIC_LABELS = {0: "toxic", 1: "severe_toxic", 2: "obscene", 3: "threat", 4: "insult", 5: "identity_hate"}

SENTENCES = [
    "Holy holy You are worthy, every heartbeat sings Your name",
    "I will lift my empty hands and kneel before the King",
    "Money on my mind, diamonds on my neck, I bought a Benz to flex",
    "She left me in the rain and I am lonely every night",
    "We dance until the morning, party with the lights down low",
    "Grace that saved me, mercy for my soul, I was lost but now I'm found",
    "I'll put a bullet in your head if you cross me again",
    "This song is about praise and adoration of God.",
]


@dataclass(frozen=True)
class ModelBlueprint:
    setting: str  # the DISCERN_HF_*_MODEL setting that points at it
    model_class: type
    config: object  # a transformers PretrainedConfig
    input_names: tuple[str, ...]  # what the tokenizer returns for this model
    bias: dict[str, float] = field(default_factory=dict)  # label -> output bias


def train_tokenizer(sentences: list[str] = SENTENCES, vocab_size: int = 400):
    """A byte-level BPE tokenizer (RoBERTa/BART layout: <s> A </s></s> B </s>) trained here."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(sentences, trainer)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=512,
    )


def special_ids(tokenizer) -> dict[str, int]:
    """pad/bos/eos ids for a config, from a RoBERTa-style or a BERT-style tokenizer."""
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    return {"pad_token_id": tokenizer.pad_token_id, "bos_token_id": bos, "eos_token_id": eos}


def _labels(id2label: dict[int, str]) -> dict:
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def blueprints(tokenizer, size: dict[str, dict], biases: dict[str, dict[str, float]] | None = None):
    """The four blueprints; ``size`` (keyed by setting) gives layer sizes and may override the rest."""
    from transformers import (
        BartConfig,
        BartForSequenceClassification,
        BertConfig,
        BertForSequenceClassification,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    ids = special_ids(tokenizer)
    biases = biases or {}
    # RoBERTa numbers positions from pad_token_id + 1, so 512 tokens need this many rows.
    roberta_positions = 512 + ids["pad_token_id"] + 1
    pair = ("input_ids", "attention_mask")
    spec = [
        ("DISCERN_HF_ZERO_SHOT_MODEL", BartForSequenceClassification, BartConfig, MNLI_LABELS, pair, {"decoder_start_token_id": ids["eos_token_id"], "max_position_embeddings": 512}),
        ("DISCERN_HF_SENTIMENT_MODEL", RobertaForSequenceClassification, RobertaConfig, SENTIMENT_LABELS, pair, {"max_position_embeddings": roberta_positions, "type_vocab_size": 1}),
        ("DISCERN_HF_EMOTION_MODEL", RobertaForSequenceClassification, RobertaConfig, EMOTION_LABELS, pair, {"max_position_embeddings": roberta_positions, "type_vocab_size": 1}),
        ("DISCERN_HF_TOXICITY_MODEL", BertForSequenceClassification, BertConfig, TOXIC_LABELS, ("input_ids", "token_type_ids", "attention_mask"), {"max_position_embeddings": 512, "problem_type": "multi_label_classification"}),
    ]  # fmt: skip
    out = []
    for setting, model_class, config_class, labels, names, extra in spec:
        config = config_class(**{**ids, **_labels(labels), **extra, **size[setting]})
        out.append(ModelBlueprint(setting, model_class, config, names, biases.get(setting, {})))
    return out


TINY_SIZE = {
    "DISCERN_HF_ZERO_SHOT_MODEL": dict(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32),
    "DISCERN_HF_SENTIMENT_MODEL": dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
    "DISCERN_HF_EMOTION_MODEL": dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
    "DISCERN_HF_TOXICITY_MODEL": dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32),
}  # fmt: skip


def tiny_blueprints(tokenizer, biases: dict[str, dict[str, float]] | None = None):
    size = {k: {**v, "vocab_size": len(tokenizer)} for k, v in TINY_SIZE.items()}
    return blueprints(tokenizer, size, biases)


def _set_output_bias(model, config, bias: dict[str, float]) -> None:
    import torch

    if not bias:
        return
    heads = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == config.num_labels]
    with torch.no_grad():
        for label, value in bias.items():
            heads[-1].bias[config.label2id[label]] = value


def write_model_set(folder: Path, tokenizer, blueprints: list[ModelBlueprint], seed: int = 0) -> dict[str, str]:
    """Save each blueprint with random weights into ``folder/<setting>``; returns setting -> path."""
    import torch

    torch.manual_seed(seed)
    paths = {}
    for blueprint in blueprints:
        target = Path(folder) / blueprint.setting.removeprefix("DISCERN_HF_").lower()
        model = blueprint.model_class(blueprint.config).eval()
        _set_output_bias(model, blueprint.config, blueprint.bias)
        model.save_pretrained(target)
        tokenizer.model_input_names = list(blueprint.input_names)
        tokenizer.save_pretrained(target)
        paths[blueprint.setting] = str(target)
        del model
    return paths
