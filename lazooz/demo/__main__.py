"""``python -m lazooz.demo [--members N] [--seed S] [--json]``."""

import sys

from lazooz.demo import main

sys.exit(main())
