"""Pure economics on numpy arrays: never imports the model or Mesa (choice, economy terms,
accounts, offers and best responses, the coordinator's planning, metrics)."""
