"""Who someone is: wallets (Sign-In with Ethereum, typed-data signatures) and staff log-in."""
