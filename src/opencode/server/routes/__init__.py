"""The API's routes, a module per group of opencode's endpoints; each module exports `routes`."""
