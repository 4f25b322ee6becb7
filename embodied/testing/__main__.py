"""``python -m embodied.testing --answers FILE``: serve scripted answers on 127.0.0.1 (see openai_server)."""

from .openai_server import main

raise SystemExit(main())
