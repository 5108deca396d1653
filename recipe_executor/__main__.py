"""``python -m recipe_executor``."""

import sys

from .main import main

sys.exit(main())
