from loa.agent.cli import main

raise SystemExit(main())
