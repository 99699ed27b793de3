"""Realistic source files for the edit corpus, each with edit sites written as tiny diffs.

A site's lines start with " " (context: in the file, kept), "-" (in the file, replaced) or "+"
(the replacement). The site's " " and "-" lines occur exactly once in the file, as whole lines.
`tail` is a site that ends at the end of the file. `form` says how the file is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Snippet:
    name: str
    text: str
    sites: list[str]
    tail: str
    unit: str = "    "
    """One indentation level of the file: four spaces, two, or a tab."""
    crlf: bool = False
    bom: bool = False
    tags: frozenset[str] = field(default_factory=frozenset)


PYTHON_SERVICE = '''\
"""Order service: prices, discounts and persistence."""

from __future__ import annotations

import logging
from decimal import Decimal

log = logging.getLogger(__name__)


class OrderService:
    def __init__(self, store, taxes):
        self.store = store
        self.taxes = taxes
        self.cache = {}

    def total(self, order):
        subtotal = sum(line.price * line.quantity for line in order.lines)
        if order.coupon:
            subtotal -= self.discount(order.coupon, subtotal)

        tax = self.taxes.rate(order.region) * subtotal
        return (subtotal + tax).quantize(Decimal("0.01"))

    def discount(self, coupon, subtotal):
        if coupon.kind == "percent":
            return subtotal * coupon.value / 100
        return min(coupon.value, subtotal)

    def save(self, order):
        log.info("saving order %s", order.id)
        self.store.put(order.id, order)
        self.cache.pop(order.id, None)
'''

PYTHON_SERVICE_SITES = [
    """\
     def total(self, order):
         subtotal = sum(line.price * line.quantity for line in order.lines)
-        if order.coupon:
-            subtotal -= self.discount(order.coupon, subtotal)
+        if order.coupon and order.coupon.active:
+            subtotal -= self.discount(order.coupon, subtotal)
+            log.debug("coupon %s applied", order.coupon.code)

         tax = self.taxes.rate(order.region) * subtotal
""",
    """\
     def discount(self, coupon, subtotal):
         if coupon.kind == "percent":
-            return subtotal * coupon.value / 100
+            return (subtotal * coupon.value / 100).quantize(Decimal("0.01"))
         return min(coupon.value, subtotal)
""",
    """\
     def __init__(self, store, taxes):
         self.store = store
         self.taxes = taxes
-        self.cache = {}
+        self.cache: dict[str, object] = {}
+        self.hits = 0
""",
]

PYTHON_SERVICE_TAIL = """\
     def save(self, order):
         log.info("saving order %s", order.id)
-        self.store.put(order.id, order)
-        self.cache.pop(order.id, None)
+        with self.store.transaction():
+            self.store.put(order.id, order)
+        self.cache.pop(order.id, None)
"""

PYTHON_CLI = """\
import argparse
import sys


def parse(argv):
    parser = argparse.ArgumentParser(prog="sync", description="Copy files to the archive.")
    parser.add_argument("source", help="the folder to copy")
    parser.add_argument("--dry-run", action="store_true", help="only print what would change")
    parser.add_argument("--jobs", type=int, default=4)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv if argv is not None else sys.argv[1:])
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    for path in sorted(walk(args.source)):
        if args.dry_run:
            print(f"would copy {path}")
            continue
        copy(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""

PYTHON_CLI_SITES = [
    """\
     parser.add_argument("--dry-run", action="store_true", help="only print what would change")
-    parser.add_argument("--jobs", type=int, default=4)
+    parser.add_argument("--jobs", type=int, default=4, help="copies to run at once")
+    parser.add_argument("--verbose", "-v", action="count", default=0)
     return parser.parse_args(argv)
""",
    """\
     for path in sorted(walk(args.source)):
         if args.dry_run:
-            print(f"would copy {path}")
+            print(f"would copy {path} to the archive")
             continue
         copy(path)
""",
    """\
     if args.jobs < 1:
         print("error: --jobs must be at least 1", file=sys.stderr)
         return 2
+    if not os.path.isdir(args.source):
+        print(f"error: {args.source} is not a folder", file=sys.stderr)
+        return 2
     for path in sorted(walk(args.source)):
""",
]

PYTHON_CLI_TAIL = """\
 if __name__ == "__main__":
-    sys.exit(main())
+    raise SystemExit(main())
"""

JS_ROUTES = """\
const express = require('express');
const { validate } = require('./validate');

const router = express.Router();

router.get('/users/:id', async (req, res) => {
  const user = await db.users.find(req.params.id);
  if (!user) {
    return res.status(404).json({ error: 'not found' });
  }
  res.json(user);
});

router.post('/users', async (req, res) => {
  const errors = validate(req.body);
  if (errors.length > 0) {
    return res.status(400).json({ errors });
  }

  const user = await db.users.create(req.body);
  res.status(201).json(user);
});

module.exports = router;
"""

JS_ROUTES_SITES = [
    """\
 router.get('/users/:id', async (req, res) => {
   const user = await db.users.find(req.params.id);
   if (!user) {
-    return res.status(404).json({ error: 'not found' });
+    return res.status(404).json({ error: `user ${req.params.id} not found` });
   }
""",
    """\
   const errors = validate(req.body);
   if (errors.length > 0) {
     return res.status(400).json({ errors });
   }

-  const user = await db.users.create(req.body);
-  res.status(201).json(user);
+  try {
+    const user = await db.users.create(req.body);
+    res.status(201).json(user);
+  } catch (err) {
+    res.status(409).json({ error: err.message });
+  }
 });
""",
]

JS_ROUTES_TAIL = """\
 });

-module.exports = router;
+module.exports = { router };
"""

TS_STORE = """\
export interface Todo {
  id: string;
  title: string;
  done: boolean;
}

export class TodoStore {
  private items = new Map<string, Todo>();

  add(title: string): Todo {
    const todo: Todo = { id: crypto.randomUUID(), title, done: false };
    this.items.set(todo.id, todo);
    return todo;
  }

  toggle(id: string): void {
    const todo = this.items.get(id);
    if (todo) {
      todo.done = !todo.done;
    }
  }

  pending(): Todo[] {
    return [...this.items.values()].filter((t) => !t.done);
  }
}
"""

TS_STORE_SITES = [
    """\
 export interface Todo {
   id: string;
   title: string;
   done: boolean;
+  due?: Date;
 }
""",
    """\
   toggle(id: string): void {
     const todo = this.items.get(id);
-    if (todo) {
-      todo.done = !todo.done;
-    }
+    if (!todo) {
+      throw new Error(`no todo ${id}`);
+    }
+    todo.done = !todo.done;
   }
""",
    """\
   add(title: string): Todo {
-    const todo: Todo = { id: crypto.randomUUID(), title, done: false };
+    const todo: Todo = { id: crypto.randomUUID(), title: title.trim(), done: false };
     this.items.set(todo.id, todo);
     return todo;
""",
]

TS_STORE_TAIL = """\
   pending(): Todo[] {
-    return [...this.items.values()].filter((t) => !t.done);
+    return [...this.items.values()].filter((t) => !t.done).sort((a, b) => a.title.localeCompare(b.title));
   }
 }
"""

GO_SERVER = """\
package server

import (
\t"fmt"
\t"net/http"
\t"time"
)

type Server struct {
\tAddr    string
\tTimeout time.Duration
\tmux     *http.ServeMux
}

func New(addr string) *Server {
\ts := &Server{Addr: addr, Timeout: 10 * time.Second, mux: http.NewServeMux()}
\ts.mux.HandleFunc("/health", s.health)
\treturn s
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
\tif r.Method != http.MethodGet {
\t\thttp.Error(w, "method not allowed", http.StatusMethodNotAllowed)
\t\treturn
\t}
\tfmt.Fprintln(w, "ok")
}

func (s *Server) Run() error {
\tsrv := &http.Server{Addr: s.Addr, Handler: s.mux, ReadTimeout: s.Timeout}
\treturn srv.ListenAndServe()
}
"""

GO_SERVER_SITES = [
    """\
 func (s *Server) health(w http.ResponseWriter, r *http.Request) {
 \tif r.Method != http.MethodGet {
-\t\thttp.Error(w, "method not allowed", http.StatusMethodNotAllowed)
+\t\tw.Header().Set("Allow", http.MethodGet)
+\t\thttp.Error(w, "method not allowed", http.StatusMethodNotAllowed)
 \t\treturn
 \t}
""",
    """\
 func New(addr string) *Server {
 \ts := &Server{Addr: addr, Timeout: 10 * time.Second, mux: http.NewServeMux()}
 \ts.mux.HandleFunc("/health", s.health)
+\ts.mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
+\t\tw.WriteHeader(http.StatusNoContent)
+\t})
 \treturn s
 }
""",
    """\
 type Server struct {
 \tAddr    string
-\tTimeout time.Duration
+\tTimeout time.Duration // per request
 \tmux     *http.ServeMux
 }
""",
]

GO_SERVER_TAIL = """\
 func (s *Server) Run() error {
 \tsrv := &http.Server{Addr: s.Addr, Handler: s.mux, ReadTimeout: s.Timeout}
-\treturn srv.ListenAndServe()
+\tif err := srv.ListenAndServe(); err != http.ErrServerClosed {
+\t\treturn err
+\t}
+\treturn nil
 }
"""

YAML_WORKFLOW = """\
name: ci

on:
  push:
    branches: [main]
  pull_request:

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ["3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - name: Install
        run: pip install -e ".[dev]"
      - name: Test
        run: pytest -q
"""

YAML_WORKFLOW_SITES = [
    """\
     strategy:
       matrix:
-        python: ["3.11", "3.12"]
+        python: ["3.11", "3.12", "3.13"]
     steps:
""",
    """\
       - uses: actions/setup-python@v5
         with:
           python-version: ${{ matrix.python }}
+          cache: pip
       - name: Install
""",
    """\
 on:
   push:
     branches: [main]
+    tags: ["v*"]
   pull_request:
""",
]

YAML_WORKFLOW_TAIL = """\
       - name: Test
-        run: pytest -q
+        run: pytest -q -n auto
"""

MARKDOWN_README = """\
# Sync

A small tool that copies a folder to the archive, skipping what is already there.

## Install

Run `pip install sync-archive` and check that `sync --help` works.

## Usage

- `sync SOURCE` copies everything new.
- `sync --dry-run SOURCE` only prints what it "would" copy.
- `sync --jobs 8 SOURCE` runs eight copies at once.

It's safe to stop it at any time: the next run picks up where it left off.

## License

MIT, see "LICENSE".
"""

MARKDOWN_README_SITES = [
    """\
 - `sync SOURCE` copies everything new.
 - `sync --dry-run SOURCE` only prints what it "would" copy.
-- `sync --jobs 8 SOURCE` runs eight copies at once.
+- `sync --jobs 8 SOURCE` runs eight copies at once (the default is four).
""",
    """\
 ## Install

-Run `pip install sync-archive` and check that `sync --help` works.
+Run `pipx install sync-archive` and check that `sync --help` works.

 ## Usage
""",
    """\
 - `sync --jobs 8 SOURCE` runs eight copies at once.

 It's safe to stop it at any time: the next run picks up where it left off.
+Use `--verbose` to see each file as it is copied.
""",
]

MARKDOWN_README_TAIL = """\
 ## License

-MIT, see "LICENSE".
+MIT or Apache-2.0, at your option; see "LICENSE".
"""

CSHARP_REPO = """\
using System;
using System.Collections.Generic;

namespace Shop.Data
{
    public class ProductRepository
    {
        private readonly Dictionary<int, Product> _products = new();

        public Product Get(int id)
        {
            if (!_products.TryGetValue(id, out var product))
            {
                throw new KeyNotFoundException($"No product {id}");
            }
            return product;
        }

        public void Add(Product product)
        {
            _products[product.Id] = product;
        }
    }
}
"""

CSHARP_REPO_SITES = [
    """\
         public Product Get(int id)
         {
             if (!_products.TryGetValue(id, out var product))
             {
-                throw new KeyNotFoundException($"No product {id}");
+                throw new KeyNotFoundException($"No product with id {id}");
             }
""",
    """\
         public void Add(Product product)
         {
+            ArgumentNullException.ThrowIfNull(product);
             _products[product.Id] = product;
         }
""",
]

CSHARP_REPO_TAIL = """\
             _products[product.Id] = product;
         }
     }
-}
+} // namespace Shop.Data
"""

MAKEFILE = """\
PYTHON ?= python3
SRC := src

.PHONY: all test lint clean

all: lint test

test:
\t$(PYTHON) -m pytest -q tests

lint:
\t$(PYTHON) -m ruff check $(SRC)
\t$(PYTHON) -m mypy $(SRC)

clean:
\trm -rf build dist .pytest_cache
\tfind . -name __pycache__ -prune -exec rm -rf {} +
"""

MAKEFILE_SITES = [
    """\
 lint:
 \t$(PYTHON) -m ruff check $(SRC)
+\t$(PYTHON) -m ruff format --check $(SRC)
 \t$(PYTHON) -m mypy $(SRC)
""",
    """\
 test:
-\t$(PYTHON) -m pytest -q tests
+\t$(PYTHON) -m pytest -q -n auto tests

 lint:
""",
]

MAKEFILE_TAIL = """\
 clean:
 \trm -rf build dist .pytest_cache
-\tfind . -name __pycache__ -prune -exec rm -rf {} +
+\tfind . -name __pycache__ -prune -exec rm -rf {} +
+\trm -f .coverage
"""

SNIPPETS = [
    Snippet("python-service", PYTHON_SERVICE, PYTHON_SERVICE_SITES, PYTHON_SERVICE_TAIL),
    Snippet("python-cli", PYTHON_CLI, PYTHON_CLI_SITES, PYTHON_CLI_TAIL),
    Snippet("js-routes", JS_ROUTES, JS_ROUTES_SITES, JS_ROUTES_TAIL, unit="  "),
    Snippet("ts-store", TS_STORE, TS_STORE_SITES, TS_STORE_TAIL, unit="  "),
    Snippet("go-server", GO_SERVER, GO_SERVER_SITES, GO_SERVER_TAIL, unit="\t"),
    Snippet(
        "yaml-workflow", YAML_WORKFLOW, YAML_WORKFLOW_SITES, YAML_WORKFLOW_TAIL, unit="  ", tags=frozenset({"yaml"})
    ),
    Snippet(
        "markdown-readme",
        MARKDOWN_README,
        MARKDOWN_README_SITES,
        MARKDOWN_README_TAIL,
        unit="",
        tags=frozenset({"prose"}),
    ),
    Snippet("csharp-crlf", CSHARP_REPO, CSHARP_REPO_SITES, CSHARP_REPO_TAIL, crlf=True, bom=True),
    Snippet("makefile-tabs", MAKEFILE, MAKEFILE_SITES, MAKEFILE_TAIL, unit="\t", tags=frozenset({"makefile"})),
]
