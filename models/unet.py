"""The classic U-Net (Ronneberger et al., 2015) as laid out in shared/seeds/003.

Unpadded ("valid") 3x3 convolutions shrink every map by 2 pixels per conv, so
a 1x1x572x572 input gives a 1x2x388x388 output. The contracting path has five
levels of two conv+ReLU pairs (64 ... 1024 channels) with 2x2 max-pooling in
between; the expanding path up-samples with 2x2 stride-2 transposed
convolutions, concatenates the centre-cropped encoder map of the same level
("copy and crop") and applies two conv+ReLU pairs; a final 1x1 conv maps 64
channels to 2 classes.

Module names follow the seed: conv<level>_<1|2>, relu<level>_<1|2> for
levels 1-9, maxpool_1..4, up_conv_1..4 and conv_10, registered in the seed's
order. The module is scriptable as well as traceable.
"""

import torch
from torch import nn


class UNet(nn.Module):
    """U-Net for 1-channel 572x572 inputs and 2 output classes."""

    # Channels of the five contracting levels; the expanding levels 6-9 mirror 4..1.
    WIDTHS = (64, 128, 256, 512, 1024)

    def __init__(self, in_channels: int = 1, num_classes: int = 2):
        super().__init__()
        widths = self.WIDTHS

        # Contracting path: levels 1-5, a max-pool after each of levels 1-4.
        c_prev = in_channels
        for level, width in enumerate(widths, start=1):
            self._add_double_conv(level, c_prev, width)
            if level < len(widths):
                setattr(self, f"maxpool_{level}", nn.MaxPool2d(kernel_size=2, stride=2))
            c_prev = width

        # Expanding path: levels 6-9. Each up-conv halves the channels; the
        # concatenated skip restores them, and the double conv halves them again.
        for step, width in enumerate(reversed(widths[:-1]), start=1):
            setattr(self, f"up_conv_{step}",
                    nn.ConvTranspose2d(c_prev, width, kernel_size=2, stride=2))
            self._add_double_conv(5 + step, 2 * width, width)
            c_prev = width

        self.conv_10 = nn.Conv2d(c_prev, num_classes, kernel_size=1)

    def _add_double_conv(self, level: int, c_in: int, c_out: int) -> None:
        """Registers conv<level>_1, relu<level>_1, conv<level>_2, relu<level>_2."""
        setattr(self, f"conv{level}_1", nn.Conv2d(c_in, c_out, kernel_size=3))
        setattr(self, f"relu{level}_1", nn.ReLU(inplace=True))
        setattr(self, f"conv{level}_2", nn.Conv2d(c_out, c_out, kernel_size=3))
        setattr(self, f"relu{level}_2", nn.ReLU(inplace=True))

    def crop_tensor(self, tensor: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Centre crop of `tensor` to the height and width of `target` (NCHW)."""
        height, width = target.size(2), target.size(3)
        top = (tensor.size(2) - height) // 2
        left = (tensor.size(3) - width) // 2
        return tensor[:, :, top:top + height, left:left + width]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Contracting path; skip1..skip4 are kept for the copy-and-crop joins.
        skip1 = self.relu1_2(self.conv1_2(self.relu1_1(self.conv1_1(x))))
        x = self.maxpool_1(skip1)
        skip2 = self.relu2_2(self.conv2_2(self.relu2_1(self.conv2_1(x))))
        x = self.maxpool_2(skip2)
        skip3 = self.relu3_2(self.conv3_2(self.relu3_1(self.conv3_1(x))))
        x = self.maxpool_3(skip3)
        skip4 = self.relu4_2(self.conv4_2(self.relu4_1(self.conv4_1(x))))
        x = self.maxpool_4(skip4)
        x = self.relu5_2(self.conv5_2(self.relu5_1(self.conv5_1(x))))

        # Expanding path: up-convolve, concatenate [cropped skip, up], double conv.
        up = self.up_conv_1(x)
        x = torch.cat([self.crop_tensor(skip4, up), up], dim=1)
        x = self.relu6_2(self.conv6_2(self.relu6_1(self.conv6_1(x))))

        up = self.up_conv_2(x)
        x = torch.cat([self.crop_tensor(skip3, up), up], dim=1)
        x = self.relu7_2(self.conv7_2(self.relu7_1(self.conv7_1(x))))

        up = self.up_conv_3(x)
        x = torch.cat([self.crop_tensor(skip2, up), up], dim=1)
        x = self.relu8_2(self.conv8_2(self.relu8_1(self.conv8_1(x))))

        up = self.up_conv_4(x)
        x = torch.cat([self.crop_tensor(skip1, up), up], dim=1)
        x = self.relu9_2(self.conv9_2(self.relu9_1(self.conv9_1(x))))

        return self.conv_10(x)
