"""``python -m elasticjobs_emulator``: run the local Elastic Jobs emulator."""

import sys

from elasticjobs_emulator.cli import main

sys.exit(main())
