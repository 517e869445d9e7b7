"""``python -m airflow_elasticjobs.emulator``: run the local Elastic Jobs emulator."""

import sys

from airflow_elasticjobs.emulator.cli import main

sys.exit(main())
