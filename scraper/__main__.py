from __future__ import annotations

from scraper.cli.main import main

raise SystemExit(main())
