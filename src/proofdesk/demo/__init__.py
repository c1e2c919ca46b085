"""The bilingual demo exchange: its data, the plan built from it, and the seeding."""
