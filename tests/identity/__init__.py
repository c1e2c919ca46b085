"""Signing in and signing: SIWE, staff passwords and TOTP, e-mailed links, EIP-712 submissions."""
