"""The seed notebook's shapes CNN, shared by the PyTorch check scripts in this folder."""
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, 3, 1, 1)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(12, 12, 3, 1, 1)
        self.conv3 = nn.Conv2d(12, 24, 3, 1, 1)
        self.drop = nn.Dropout2d(p=0.2)
        self.fc = nn.Linear(32 * 32 * 24, num_classes)

    def forward(self, x):
        x = F.relu(self.pool(self.conv1(x)))
        x = F.relu(self.pool(self.conv2(x)))
        x = F.relu(self.drop(self.conv3(x)))
        x = F.dropout(x, training=self.training)
        return F.log_softmax(self.fc(x.view(-1, 32 * 32 * 24)), dim=1)
