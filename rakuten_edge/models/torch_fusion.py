"""camembert-ft: CamemBERT [CLS] (trainable) + the shared image CNN written in PyTorch + the same fusion.

Layer for layer the Keras design: Conv -> ReLU -> BN -> MaxPool -> Dropout blocks, Flatten -> Dense; text
[CLS] -> Dense -> BN -> Dropout; concat -> Dense -> BN -> Dropout -> softmax. BatchNorm keeps Keras'
epsilon (1e-3) and momentum convention (torch's momentum = 1 - Keras' momentum).
"""

from __future__ import annotations

from .config import ModelConfig


def build_torch_model(config: ModelConfig, encoder):
    import torch
    from torch import nn

    if config.text.kind != "cls-dense":
        raise ValueError(f"camembert-ft needs text kind 'cls-dense', got {config.text.kind!r}")
    bn_momentum, eps = 1.0 - config.batch_norm_momentum, 1e-3
    img = config.image

    class ImageCNN(nn.Module):
        def __init__(self):
            super().__init__()
            blocks, channels = [], 1
            for filters in img.filters:
                blocks += [
                    nn.Conv2d(channels, filters, img.kernel, padding="same"),
                    nn.ReLU(),
                    nn.BatchNorm2d(filters, eps=eps, momentum=bn_momentum),
                    nn.MaxPool2d(2),
                    nn.Dropout(img.dropout),
                ]
                channels = filters
            self.blocks = nn.Sequential(*blocks)
            side = img.size // 2 ** len(img.filters)
            self.dense = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, img.dense), nn.ReLU())

        def forward(self, image):  # NHWC, like the Keras models' `image` input
            return self.dense(self.blocks(image.permute(0, 3, 1, 2)))

    class CamembertFusion(nn.Module):
        def __init__(self):
            super().__init__()
            hidden = encoder.config.hidden_size
            self.encoder = encoder
            self.image = ImageCNN()
            # text.dense == 0: no text head, the [CLS] vector goes to the fusion (keras_builders.text_head)
            self.text = nn.Sequential(
                *(
                    (
                        nn.Linear(hidden, config.text.dense),
                        nn.ReLU(),
                        nn.BatchNorm1d(config.text.dense, eps=eps, momentum=bn_momentum),
                        nn.Dropout(config.text.dense_dropout),
                    )
                    if config.text.dense
                    else ()
                )
            )
            features, hidden = img.dense + (config.text.dense or hidden), config.fusion.dense
            # fusion.dense == 0: the linear fusion, as in keras_builders.fusion_head
            self.fusion = nn.Sequential(
                *(
                    (nn.Linear(features, hidden), nn.ReLU(), nn.BatchNorm1d(hidden, eps=eps, momentum=bn_momentum))
                    if hidden
                    else ()
                ),
                nn.Dropout(config.fusion.dropout),
                nn.Linear(hidden or features, config.num_classes),
            )

        def logits(self, image, input_ids, attention_mask):
            cls = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
            return self.fusion(torch.cat([self.image(image), self.text(cls)], dim=1))

        def forward(self, image, input_ids, attention_mask):
            return torch.softmax(self.logits(image, input_ids, attention_mask), dim=-1)

    return CamembertFusion()
