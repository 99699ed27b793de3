"""Sessions: the conversation model, where it is stored, and how it becomes a provider request.

Files:
- `model.py`: Session, UserMessage / AssistantMessage, the parts, in opencode's JSON shapes.
- `store.py`: the `Store` protocol every backend implements, and its errors.
- `sqlite.py`: `SQLiteStore`, the default store (one WAL file under the XDG data dir), with crash
  recovery, export / import and usage rows for `opencode stats`.
- `sqlite_migrations.py`: the SQLite schema as ordered migrations, with backup and count checks.
- `convert.py`: stored messages -> the provider layer's request messages.

Nothing is imported here, so importing one module does not load the others.
"""
