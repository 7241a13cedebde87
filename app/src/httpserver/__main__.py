from httpserver.server import main

raise SystemExit(main())
