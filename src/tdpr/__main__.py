"""``python -m tdpr`` runs the ``tdpr`` command."""

import sys

from tdpr.cli import main

sys.exit(main())
