"""Service contracts: published rule sets that decide claims, and their replay."""
