"""The assistant: understanding customers in Chinese and English, crypto entities, safety."""
