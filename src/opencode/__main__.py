from opencode.cli.main import entry

entry()
