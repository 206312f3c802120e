"""``python -m mlpkit.cli ARGS`` runs ``mlpkit ARGS``."""

import sys

from mlpkit.cli import main

sys.exit(main())
