"""Test support shipped with the package: the scripted model server and fakes built on it."""
