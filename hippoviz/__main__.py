from hippoviz.cli import main

raise SystemExit(main())
