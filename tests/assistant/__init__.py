"""The assistant: answers, hand-offs, its model, and transaction look-ups on a chain."""
