from opencode.cli.main import main

raise SystemExit(main())
