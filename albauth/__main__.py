from albauth.cli import main

raise SystemExit(main())
